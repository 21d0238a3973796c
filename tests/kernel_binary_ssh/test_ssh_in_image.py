"""Our dropbearmulti and sftp-server in a bare test image, used as the 26.9 runner uses them.

Host key and user key from dropbearkey, dropbear started with the runner's flags
(ssh_session), and a real OpenSSH client (Debian's, pinned) logging in with the
key dropbearconvert wrote: a command's output and exit code, scp each way
(dropbear's own scp on the server side), and 64 MiB each way over SFTP, which
dropbear hands to /opt/kernel/sftp-server.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from pathlib import Path

import pytest
import ssh_session
from support import image

ARCH = os.environ["ARCH"]
RUNFILES = Path(os.environ["TEST_SRCDIR"])
SERVER_ROOT = Path(os.path.realpath(RUNFILES / os.environ["ROOTFS"])).parent / "root"
CLIENT_ROOT = (
    Path(
        os.path.realpath(RUNFILES / os.environ[f"SSH_CLIENT_ROOTFS_{image.host_arch().upper()}"])
    ).parent
    / "root"
)
DROPBEARMULTI = RUNFILES / os.environ["DROPBEARMULTI"]
SFTP_SERVER = RUNFILES / os.environ["SFTP_SERVER"]
# Key generation and transfers run under qemu for aarch64, about ten times slower.
TIMEOUT = 600 if ARCH != image.host_arch() else 120
BIG = 64 * 1024 * 1024


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _random_file(path: Path, size: int) -> Path:
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(os.urandom(n))
            left -= n
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ssh")
    opt = ssh_session.kernel_dir(tmp, DROPBEARMULTI, SFTP_SERVER)
    with ssh_session.DropbearImage(SERVER_ROOT, ARCH, opt, tmp / "dropbear.log", TIMEOUT) as server:
        key = tmp / "id_container"
        shutil.copyfile(server.inside("/home/work/id_container"), key)
        key.chmod(0o600)
        client = ssh_session.OpenSSHClient(CLIENT_ROOT, image.host_arch(), key, server.port, tmp)
        yield server, client, tmp


def test_command_output_and_exit_code(served):
    server, client, _ = served
    res = client.ssh(f'echo "${ssh_session.MARK}:$PATH:$HOME:$USER"; exit 7', server.netns, TIMEOUT)
    assert res.returncode == 7, res.stderr
    # The session keeps the runner's environment and PATH (keep_environment and
    # path_from_environment patches); HOME and USER are the work user's.
    expected = f"kept:{ssh_session.KERNEL_BIN}:{image.DEFAULT_PATH}:/home/work:work"
    assert res.stdout.strip() == expected, res.stderr


def test_scp_each_way(served):
    server, client, tmp = served
    sent = _random_file(tmp / "scp_up.bin", 3 * 1024 * 1024 + 17)
    res = client.scp(str(sent), "work@127.0.0.1:/home/work/scp_up.bin", server.netns, TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert _sha256(server.inside("/home/work/scp_up.bin")) == _sha256(sent)
    back = tmp / "scp_back.bin"
    res = client.scp("work@127.0.0.1:/home/work/scp_up.bin", str(back), server.netns, TIMEOUT)
    assert res.returncode == 0, res.stderr
    assert _sha256(back) == _sha256(sent)


def test_sftp_64_mib_each_way(served):
    server, client, tmp = served
    up = _random_file(tmp / "sftp_up.bin", BIG)
    down_src = _random_file(server.inside("/home/work/sftp_down.bin"), BIG)
    os.chown(down_src, image.WORK_UID, image.WORK_GID)
    down = tmp / "sftp_down.bin"
    batch = f"put {up} /home/work/sftp_up.bin\nget /home/work/sftp_down.bin {down}\n"
    res = client.sftp(batch, server.netns, TIMEOUT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert _sha256(server.inside("/home/work/sftp_up.bin")) == _sha256(up)
    assert _sha256(down) == _sha256(down_src)


def test_sftp_runs_the_mounted_sftp_server(served):
    """SFTP fails once /opt/kernel/sftp-server cannot run: it is the one dropbear starts."""
    server, client, _ = served
    res = client.ssh("exec /opt/kernel/sftp-server -h", server.netns, TIMEOUT)
    # sftp-server -h prints its usage and exits 1: it runs in this image.
    assert res.returncode == 1 and "usage: sftp-server" in res.stderr, res.stdout + res.stderr


def test_window_and_packet_sizes(served):
    """The channel dropbear opens offers the patched 2 MiB window and 2.5 MiB packets."""
    server, client, _ = served
    res = client.ssh("exit 0", server.netns, TIMEOUT, extra=("-vv",))
    assert res.returncode == 0, res.stderr
    # OpenSSH logs the window and maximum packet the server grants its session channel.
    match = re.search(r"open confirm rwindow (\d+) rmax (\d+)", res.stderr)
    assert match, res.stderr[-3000:]
    # sftp_window_sizes.patch: DEFAULT_RECV_WINDOW, and RECV_MAX_PAYLOAD_LEN less 9 header bytes.
    assert (int(match.group(1)), int(match.group(2))) == (2097152, 2621440 - 9)


def test_long_command(served):
    """max_cmd_len.patch: a 15000-byte command runs (dropbear's default refuses more than 9000)."""
    server, client, _ = served
    command = ": " + "x" * 15000 + "; echo long-ok"
    res = client.ssh(command, server.netns, TIMEOUT)
    assert res.returncode == 0 and res.stdout.strip() == "long-ok", res.stderr
