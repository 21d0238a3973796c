"""Run a command inside a test image with a krunner volume, as the agent's container would.

The volume is extracted as the agent's extractor does (`tar xJf` into an empty
directory: `extract_volume`) and bind-mounted READ-ONLY at /opt/backend.ai of
a root filesystem from tests/rootfs. The command runs as uid/gid 1000 (`work`)
with `LD_LIBRARY_PATH=/opt/backend.ai/lib`, as the agent's entrypoint sets it.

How the image is entered (`python3 image.py ENTER-SPEC`, started by `run` or
`start`), with nothing changed on the host:

1. A new user namespace whose uid and gid maps (0-65535 onto the same ids
   outside) a helper still outside writes, so uid 1000 exists inside; this
   needs real root (or a parent namespace with such a range) outside.
2. New mount, PID, network, IPC and UTS namespaces. The network namespace has
   only loopback (brought up here), so every run has its own ports 2000, 2001,
   7681...; a client joins it with `netns_of(proc)`.
3. Pid 1 of the new PID namespace mounts, inside the root: /dev (bound),
   a new devpts instance at /dev/pts (and its ptmx at /dev/ptmx), a new /proc,
   tmpfs at /tmp (1777) and /home/work (owned by 1000), the volume read-only at
   /opt/backend.ai, and the caller's extra mounts (read-only; for mounts into
   /opt/kernel, where the agent puts its own binaries, /opt is a tmpfs holding
   both mount points).
4. For an aarch64 image on another machine: a private binfmt_misc instance
   (Linux >= 6.7 gives each user namespace its own) at
   /proc/sys/fs/binfmt_misc, with the static qemu-aarch64 registered with the
   `F` flag (the interpreter is opened now, from the host's file system), so
   every aarch64 program, also those the command forks, runs under qemu.
5. chroot, chdir /home/work, then a child drops to uid/gid 1000 with no
   supplementary groups and execs the command; pid 1 reaps and passes on its
   exit status, and forwards SIGTERM and SIGINT.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import platform
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tarfile
import time
from pathlib import Path

WORK_UID = WORK_GID = 1000
ID_RANGE = 65536
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# qemu's own binfmt entry for aarch64 ELF executables (scripts/qemu-binfmt-conf.sh).
AARCH64_MAGIC = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00"
AARCH64_MASK = b"\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff"

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC = 32, 1024, 2048, 4096, 16384
MS_PRIVATE, MS_RELATIME = 1 << 18, 1 << 21
PR_SET_PDEATHSIG = 1
# Where the agent bind-mounts its own binaries (backend.ai-kernel-binary).
AGENT_KERNEL_DIR = "/opt/kernel"
# Extra mounts may target paths missing from the root only under these (tmpfs made here).
MADE_MOUNT_POINTS = ("/home/work/", "/tmp/", AGENT_KERNEL_DIR + "/")

_libc = ctypes.CDLL(None, use_errno=True)
_CLONE_NEWNET = 0x40000000


def extract_volume(archive: Path, dest: Path) -> Path:
    """Unpack a volume's .tar.xz into the empty directory `dest`, as `tar xJf` run by root does."""
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive, "r:xz") as tar:
        tar.extractall(dest, filter="fully_trusted")  # owners and modes as archived
    return dest


def host_arch() -> str:
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine(), platform.machine())


def qemu_for(arch: str) -> str | None:
    """The static qemu-user binary that runs `arch` programs here, None if none is needed."""
    if arch == host_arch():
        return None
    qemu = shutil.which(f"qemu-{arch}-static") or shutil.which(f"qemu-{arch}")
    if not qemu:
        raise RuntimeError(f"no qemu-{arch} on PATH to run {arch} programs on {host_arch()}")
    return os.path.realpath(qemu)


def _spec(
    root: Path,
    volume: Path,
    argv: list[str],
    arch: str,
    env: dict[str, str] | None,
    mounts: list[tuple[Path, str]],
    uid: int,
) -> str:
    full_env = {
        "PATH": DEFAULT_PATH,
        "HOME": "/home/work",
        "USER": "work",
        "LANG": "C.UTF-8",
        **(env or {}),
        "LD_LIBRARY_PATH": "/opt/backend.ai/lib",
    }
    return json.dumps(
        {
            "root": str(Path(root).resolve()),
            "volume": str(Path(volume).resolve()),
            "argv": list(argv),
            "env": full_env,
            "qemu": qemu_for(arch),
            "uid": uid,
            "mounts": [[str(Path(src).resolve()), dst] for src, dst in mounts],
        }
    )


def run(
    root: Path,
    volume: Path,
    argv: list[str],
    *,
    arch: str,
    env: dict[str, str] | None = None,
    mounts: list[tuple[Path, str]] = (),
    uid: int = WORK_UID,
    timeout: float = 300,
    stdin: str | None = None,
) -> subprocess.CompletedProcess:
    """Run `argv` in the image and wait; stdout and stderr are captured as text.

    `env` adds to PATH, HOME=/home/work, USER=work and LANG=C.UTF-8;
    LD_LIBRARY_PATH is always /opt/backend.ai/lib. `mounts` are (host path,
    in-image path) pairs bound read-only after the volume (mount points must
    exist, except under /home/work, /tmp and /opt/kernel, where they are made).
    """
    cmd = [sys.executable, "-I", __file__, _spec(root, volume, argv, arch, env, list(mounts), uid)]
    return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)


def start(
    root: Path,
    volume: Path,
    argv: list[str],
    *,
    arch: str,
    env: dict[str, str] | None = None,
    mounts: list[tuple[Path, str]] = (),
    uid: int = WORK_UID,
    **popen,
) -> subprocess.Popen:
    """Start `argv` in the image and return at once (see `run`); stop it with `stop`."""
    cmd = [sys.executable, "-I", __file__, _spec(root, volume, argv, arch, env, list(mounts), uid)]
    return subprocess.Popen(cmd, **popen)


def stop(proc: subprocess.Popen, timeout: float = 30) -> int:
    """SIGTERM the image's command (pid 1 passes it on), then SIGKILL everything after `timeout`."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()  # pid 1 dies with it (PR_SET_PDEATHSIG), and the namespace with pid 1
            proc.wait()
    return proc.returncode


def netns_of(proc: subprocess.Popen, timeout: float = 30) -> Path:
    """The network namespace a started image runs in (`proc` itself moves into it), once it has."""
    own = os.stat("/proc/self/ns/net").st_ino
    path = Path(f"/proc/{proc.pid}/ns/net")
    deadline = time.monotonic() + timeout
    while os.stat(path).st_ino == own:
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(
                f"the image's process (exit {proc.returncode}) never entered its network namespace"
            )
        time.sleep(0.02)
    return path


@contextlib.contextmanager
def in_netns(netns: Path | None):
    """Run the block (and what it starts) in the network namespace `netns`, this thread
    only; None stays in the caller's. Sockets made in it stay there afterwards."""
    if netns is None:
        yield
        return
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(netns, os.O_RDONLY)
    try:
        _setns(target)
        try:
            yield
        finally:
            _setns(own)
    finally:
        os.close(target)
        os.close(own)


def _setns(fd: int) -> None:
    # libc's setns: os.setns exists only from Python 3.12, and tools/bench_sftp runs
    # these helpers on the host's Python, which may be older.
    _check(_libc.setns(fd, _CLONE_NEWNET), "setns")


# --- the entering process (run as a script) ---------------------------------


def _check(ret: int, what: str) -> None:
    if ret != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    _check(_libc.unshare(flags), f"unshare({flags:#x})")


def _mount(
    src: str | None, dst: str, fstype: str | None, flags: int, data: str | None = None
) -> None:
    enc = lambda s: s.encode() if s is not None else None  # noqa: E731
    _check(
        _libc.mount(enc(src), enc(dst), enc(fstype), ctypes.c_ulong(flags), enc(data)),
        f"mount {src} on {dst} ({fstype or 'bind'})",
    )


def _bind_readonly(src: str, dst: str) -> None:
    _mount(src, dst, None, MS_BIND | MS_REC)
    # A remount in a user namespace must keep the flags locked on the source mount.
    st = os.statvfs(dst).f_flag
    keep = 0
    for st_flag, ms_flag in (
        (os.ST_NOSUID, MS_NOSUID),
        (os.ST_NODEV, MS_NODEV),
        (os.ST_NOEXEC, MS_NOEXEC),
        (os.ST_NOATIME, MS_NOATIME),
        (os.ST_NODIRATIME, MS_NODIRATIME),
        (os.ST_RELATIME, MS_RELATIME),
    ):
        if st & st_flag:
            keep |= ms_flag
    _mount(None, dst, None, MS_REMOUNT | MS_BIND | MS_RDONLY | keep)


def _loopback_up() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        req = struct.pack("16sH14x", b"lo", 0)
        flags = struct.unpack("16sH14x", fcntl.ioctl(s, 0x8913, req))[1]  # SIOCGIFFLAGS
        fcntl.ioctl(
            s, 0x8914, struct.pack("16sH14x", b"lo", flags | 0x1 | 0x40)
        )  # SIOCSIFFLAGS: UP, RUNNING


def _map_ids(pid: int) -> None:
    for name in ("uid_map", "gid_map"):
        Path(f"/proc/{pid}/{name}").write_text(f"0 0 {ID_RANGE}\n")


def _forward(child: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda s, _f: os.kill(child, s))


def _wait(child: int) -> int:
    """Reap until `child` exits (pid 1 also reaps orphans); its exit status as a shell reports it."""
    while True:
        try:
            pid, status = os.wait()
        except InterruptedError:
            continue
        if pid == child:
            return (
                os.waitstatus_to_exitcode(status)
                if os.WIFEXITED(status)
                else 128 + os.WTERMSIG(status)
            )


def _pid1(spec: dict) -> int:
    """Pid 1 of the image: mounts, chroot, the command as uid 1000."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    root = spec["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _loopback_up()
    _mount("/dev", f"{root}/dev", None, MS_BIND | MS_REC)
    _mount(
        "devpts",
        f"{root}/dev/pts",
        "devpts",
        MS_NOSUID | MS_NOEXEC,
        "newinstance,ptmxmode=0666,mode=620",
    )
    if os.path.exists(f"{root}/dev/ptmx"):
        _mount(f"{root}/dev/pts/ptmx", f"{root}/dev/ptmx", None, MS_BIND)
    _mount("proc", f"{root}/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    kernel_dir = f"{root}{AGENT_KERNEL_DIR}"
    if not os.path.isdir(kernel_dir) and any(
        dst.startswith(AGENT_KERNEL_DIR + "/") for _, dst in spec["mounts"]
    ):
        # The agent bind-mounts its binaries into /opt/kernel, which Docker creates;
        # a test root has no /opt/kernel, so /opt becomes a tmpfs with both mount points.
        _mount("tmpfs", f"{root}/opt", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755")
        os.makedirs(f"{root}/opt/backend.ai")
        os.makedirs(kernel_dir)
    _mount("tmpfs", f"{root}/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    _mount(
        "tmpfs",
        f"{root}/home/work",
        "tmpfs",
        MS_NOSUID | MS_NODEV,
        f"mode=0755,uid={WORK_UID},gid={WORK_GID}",
    )
    _bind_readonly(spec["volume"], f"{root}/opt/backend.ai")
    for src, dst in spec["mounts"]:
        target = f"{root}/{dst.lstrip('/')}"
        if not os.path.lexists(target) and dst.startswith(MADE_MOUNT_POINTS):
            # Under the tmpfs made here: create the mount point, as Docker does.
            if os.path.isdir(src):
                os.makedirs(target)
            else:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                open(target, "wb").close()
        _bind_readonly(src, target)
    if spec["qemu"]:
        binfmt = f"{root}/proc/sys/fs/binfmt_misc"
        _mount("binfmt_misc", binfmt, "binfmt_misc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
        # Magic and mask as \xNN text: the kernel unescapes them as C strings, so a raw NUL would cut them short.
        hexed = lambda b: "".join(f"\\x{c:02x}" for c in b)  # noqa: E731
        entry = f":krunner-aarch64:M::{hexed(AARCH64_MAGIC)}:{hexed(AARCH64_MASK)}:{spec['qemu']}:F".encode()
        with open(f"{binfmt}/register", "wb") as f:
            f.write(entry)
    os.chroot(root)
    os.chdir("/home/work" if spec["uid"] == WORK_UID else "/")
    child = os.fork()
    if child == 0:
        try:
            if spec["uid"] != 0:
                os.setgroups([])
                os.setgid(spec["uid"])
                os.setuid(spec["uid"])
            os.execve(spec["argv"][0], spec["argv"], spec["env"])
        except OSError as e:
            print(f"image: cannot run {spec['argv'][0]}: {e}", file=sys.stderr)
        os._exit(127)
    _forward(child)
    return _wait(child)


def _enter(spec: dict) -> int:
    helper_r, outer_w = os.pipe()
    inner_r, helper_w = os.pipe()
    helper = os.fork()
    if helper == 0:  # stays in the outer user namespace to write this process's id maps
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        try:
            if os.read(helper_r, 1) == b"1":
                _map_ids(os.getppid())
                os.write(helper_w, b"1")
        except OSError as e:
            print(
                f"image: cannot map uids and gids 0-{ID_RANGE - 1} into the user namespace: {e}",
                file=sys.stderr,
            )
        finally:
            os._exit(0)
    try:
        _unshare(CLONE_NEWUSER)
    except OSError:
        os.write(outer_w, b"0")
        raise
    os.write(outer_w, b"1")
    os.close(helper_w)
    mapped = os.read(inner_r, 1) == b"1"
    os.waitpid(helper, 0)
    if not mapped:
        return 125
    os.setresgid(0, 0, 0)
    os.setresuid(0, 0, 0)
    _unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS)
    child = os.fork()
    if child == 0:
        try:
            code = _pid1(spec)
        except BaseException as e:  # noqa: BLE001 - report anything before the namespace goes away
            print(f"image: {type(e).__name__}: {e}", file=sys.stderr)
            code = 125
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    _forward(child)
    return _wait(child)


if __name__ == "__main__":
    try:
        sys.exit(_enter(json.loads(sys.argv[1])))
    except OSError as e:
        sys.exit(f"image: {e}")
