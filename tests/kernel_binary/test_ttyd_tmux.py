"""ttyd serving `/opt/kernel/tmux -2 attach` with the runner's own flags, in bare images.

The command line is made by the published 26.9.6 runner's own
`prepare_ttyd_service` (backend.ai-kernel, ai/backend/kernel/intrinsic.py),
run here with the test image deciding which shells exist, and the agent's
`.tmux.conf` (from the pinned backend.ai-kernel-binary wheel, which the agent
copies to /home/work) creates the session that `attach` joins. The musl image
also gets the agent's terminfo.alpine3.8 mount at /home/work/.terminfo.
A WebSocket client (tests/ttyd) types into the terminal and reads tmux's
screen; the ping and hangup times are those of tests/ttyd/test_ttyd_idle.py.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import re
import subprocess
import time
import typing
from pathlib import Path

import idle
import kernel_files
import pytest
from server_process import LISTENING, ServerProcess
from support import image
from support.image import in_netns
from ttyd_client import TtydSession
from ws_client import ConnectionClosed

PORT = 7681  # the runner's default ttyd port (base.py); the image has its own network
EARLY, LATE = 0.5, 2.5  # as tests/ttyd/test_ttyd_idle.py


def runner_ttyd_command(image_root: Path, hide: tuple[str, ...] = ()) -> list[str]:
    """The runner's prepare_ttyd_service, from its published source, for this image.

    `hide`: in-image paths the runner is told do not exist.
    """
    source = kernel_files.runfile("RUNNER_INTRINSIC").read_text()
    tree = ast.parse(source)
    fn = next(
        n
        for n in tree.body
        if isinstance(n, ast.AsyncFunctionDef) and n.name == "prepare_ttyd_service"
    )

    class ImagePath(type(Path())):
        """Path as the runner sees it inside the image: exists() looks in the image's root."""

        def exists(self) -> bool:
            if str(self) in hide:
                return False
            return (image_root / str(self).lstrip("/")).exists()

    namespace = {"Path": ImagePath, "Mapping": typing.Mapping, "Any": typing.Any}
    exec(compile(ast.Module(body=[fn], type_ignores=[]), "intrinsic.py", "exec"), namespace)
    cmdargs, env = asyncio.run(namespace["prepare_ttyd_service"]({"port": PORT}))
    assert env == {}
    return [str(a) for a in cmdargs]


# The 26.9.6 runner starts no tmux when the image has /bin/ash ("prebuilt tmux in
# Alpine-based containers is not supported"), so in the musl image (busybox, which
# has ash) it is asked as for a musl image without ash: it then picks /bin/sh and
# tmux, which our tmux supports there with the agent's terminfo mount.
MUSL_HIDE = ("/bin/ash",)


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
def test_runner_starts_no_tmux_where_ash_exists(arch):
    argv = runner_ttyd_command(kernel_files.root("musl", arch))
    assert argv == ["/opt/kernel/ttyd", "-W", "-p", str(PORT), "/bin/ash"], argv


def start_ttyd(libc, arch, tmp_path, *, extra=(), terminfo=True):
    root = kernel_files.root(libc, arch)
    argv = runner_ttyd_command(root, MUSL_HIDE if libc == "musl" else ())
    assert argv[:4] == ["/opt/kernel/ttyd", "-W", "-p", str(PORT)], argv
    assert argv[-1].endswith("/opt/kernel/tmux -2 attach"), (
        f"the runner starts no tmux in this image: {argv}"
    )
    argv[1:1] = list(extra)
    mounts = kernel_files.kernel_mounts(tmp_path, arch, "ttyd", "tmux")
    mounts.append((kernel_files.upstream_runner_dir() / ".tmux.conf", "/home/work/.tmux.conf"))
    if terminfo:
        mounts.append((kernel_files.agent_terminfo(), "/home/work/.terminfo"))
    proc = image.start(
        root,
        kernel_files.empty_volume(tmp_path),
        argv,
        arch=arch,
        mounts=mounts,
        env={"HOSTNAME": "krunner-test"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    server = ServerProcess(proc)
    try:
        server.port = int(server.wait_for_log(LISTENING, 120).group(1))
        netns = image.netns_of(proc)
    except BaseException:
        server.stop()
        raise
    return server, netns


def type_until(session: TtydSession, text: str, pattern: bytes, timeout: float = 120) -> None:
    """Type `text` until `pattern` shows: keys typed before tmux attached may be lost."""
    deadline = time.monotonic() + timeout
    while True:
        session.type(text)
        try:
            session.read_until(pattern, timeout=min(15, max(1, deadline - time.monotonic())))
            return
        except TimeoutError:
            if time.monotonic() > deadline:
                raise


def connect(netns, port, auto_pong=True):
    with in_netns(netns):  # the socket stays in the image's network namespace
        return TtydSession.open("127.0.0.1", port, auto_pong=auto_pong, timeout=60)


CASES = [(libc, arch) for arch in kernel_files.ARCHES for libc in kernel_files.LIBCS]


@pytest.mark.parametrize("libc,arch", CASES)
def test_types_into_tmux_over_websocket(libc, arch, tmp_path):
    server, netns = start_ttyd(libc, arch, tmp_path, terminfo=libc == "musl")
    try:
        with connect(netns, server.port) as session:
            type_until(session, 'echo "ttyd-via-tmux-$((6*7))"\r', rb"ttyd-via-tmux-42")
    finally:
        server.stop()


@pytest.mark.parametrize("libc,arch", CASES)
def test_idle_ping_and_hangup(libc, arch, tmp_path, capsys):
    server, netns = start_ttyd(libc, arch, tmp_path, terminfo=libc == "musl")
    ping, hangup = 5, 10  # ttyd 1.7.7's own retry policy, without -P
    try:
        silent, answering = idle.watch_pair(
            lambda auto_pong: connect(netns, server.port, auto_pong).ws, hangup + LATE + 1
        )
    finally:
        server.stop()
    with capsys.disabled():
        print(f"\n[ttyd+tmux {libc} {arch}] silent: {silent.describe()}")
    detail = f"silent: {silent.describe()}; answering: {answering.describe()}\n{server.log}"
    for what, measured, expected in (
        ("first PING", silent.first_ping, ping),
        ("hangup", silent.hangup, hangup),
        ("first PING to the answering client", answering.first_ping, ping),
    ):
        assert measured is not None, f"no {what}; {detail}"
        assert expected - EARLY <= measured <= expected + LATE, (
            f"{what} at {measured:.2f} s; {detail}"
        )
    assert len(silent.pings) == 1, detail
    assert answering.hangup is None, detail


# In terminfo.alpine3.8 but not among the fallbacks compiled into our ncurses: found
# only through $HOME/.terminfo (the agent's mount).
ONLY_IN_AGENT_TERMINFO = "screen.xterm-256color"


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
@pytest.mark.parametrize("mounted", [True, False], ids=["mounted", "not-mounted"])
def test_musl_terminfo_from_the_agent_mount(arch, mounted, tmp_path):
    server, netns = start_ttyd(
        "musl", arch, tmp_path, extra=("-T", ONLY_IN_AGENT_TERMINFO), terminfo=mounted
    )
    try:
        if mounted:
            with connect(netns, server.port) as session:
                type_until(session, 'echo "terminfo-$((6*7))"\r', rb"terminfo-42")
            return
        # tmux's words for setupterm's errors: no terminfo directory at all (-1), or
        # none with this entry (0). tmux exits at once, and ttyd may close the
        # connection before it relays that line: each connection is a new try.
        refused = rb"can't find terminfo database|missing or unsuitable terminal: " + re.escape(
            ONLY_IN_AGENT_TERMINFO.encode()
        )
        outputs = []
        for _ in range(5):
            with connect(netns, server.port) as session:
                with contextlib.suppress(ConnectionClosed, TimeoutError):
                    session.read_until(refused, timeout=60)
                outputs.append(bytes(session.output))
            if re.search(refused, outputs[-1]):
                break
        assert re.search(refused, outputs[-1]), outputs
    finally:
        server.stop()
