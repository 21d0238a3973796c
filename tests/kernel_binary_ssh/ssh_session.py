"""dropbear and sftp-server started in a test image as the 26.9 runner starts them, and an OpenSSH client.

The server side (`DropbearImage`): the binaries are copied into a directory
bound read-only over the image's /opt, as `kernel/dropbearmulti` and
`kernel/sftp-server`, so they are where mount_krunner mounts them
(/opt/kernel/...). In the image, as uid 1000 (the runner's user) and with only
the image's own shell, the runner's steps run (intrinsic.init_sshd_service and
prepare_sshd_service of backend.ai-kernel 26.9.6):

1. `dropbearkey -t rsa -s 2048 -f <host key>`;
2. `dropbearkey -t rsa -s 2048 -f /tmp/dropbear/id_dropbear`, whose public key
   becomes /home/work/.ssh/authorized_keys (written from the test, as the runner
   writes it), and `dropbearconvert dropbear openssh` of that key to
   /home/work/id_container, the private key a user downloads;
3. `dropbear -r <host key> -E -F -g -w -K 15 -I 0 -p 127.0.0.1:<port>`.

The image's /tmp and /home/work are its own tmpfs mounts; the test reads and
writes them through /proc/<pid>/root, as root outside.

The client side (`OpenSSHClient`): OpenSSH's ssh, scp and sftp from Debian
trixie's openssh-client (pinned, tests/rootfs), run by that root's own ld.so
inside the image's network namespace, with the private key from step 2.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from support import image
from support.image import in_netns

HOST_KEY = "/tmp/dropbear/dropbear_rsa_host_key"
USER_KEY = "/tmp/dropbear/id_dropbear"
# The runner's flags (prepare_sshd_service), on 127.0.0.1 instead of 0.0.0.0.
DROPBEAR_FLAGS = ["-E", "-F", "-g", "-w", "-K", "15", "-I", "0"]
# Where the test puts a `scp` link to dropbearmulti (the agent's entrypoint links
# /usr/bin/scp as root; the images here are read-only), on the server's PATH.
KERNEL_BIN = "/opt/kernel/bin"
MARK = "KRUNNER_SSH_TEST_MARK"

_LDSO = {"x86_64": "ld-linux-x86-64.so.2", "aarch64": "ld-linux-aarch64.so.1"}
_TRIPLET = {"x86_64": "x86_64-linux-gnu", "aarch64": "aarch64-linux-gnu"}


def free_port(netns: Path) -> int:
    """A TCP port nothing listens on in `netns`."""
    with in_netns(netns), socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def kernel_dir(tmp: Path, dropbearmulti: Path, sftp_server: Path) -> Path:
    """A directory to bind over the image's /opt: backend.ai/ (empty) and kernel/ with the binaries."""
    opt = tmp / "opt"
    (opt / "backend.ai").mkdir(parents=True)
    kernel = opt / "kernel"
    (kernel / "bin").mkdir(parents=True)
    for src, name in ((dropbearmulti, "dropbearmulti"), (sftp_server, "sftp-server")):
        shutil.copyfile(src, kernel / name)
        (kernel / name).chmod(0o755)
    (kernel / "bin/scp").symlink_to("/opt/kernel/dropbearmulti")
    return opt


class DropbearImage:
    """dropbear serving in a test image (see the module docstring); use as a context manager."""

    def __init__(
        self, root: Path, arch: str, opt: Path, log: Path, timeout: float, show_log: bool = True
    ):
        self.root = Path(root).resolve()
        self.arch, self.opt, self.log_path, self.timeout = arch, opt, log, timeout
        self.show_log = show_log  # print dropbear's log when it stops (tests: shown on failure)
        self.proc: subprocess.Popen | None = None

    def inside(self, path: str) -> Path:
        """A path of the running image, seen from outside."""
        return Path(f"/proc/{self.proc.pid}/root{self.root}/{path.lstrip('/')}")

    def __enter__(self) -> DropbearImage:
        k = "/opt/kernel/dropbearmulti"
        keygen = f"{k} dropbearkey -t rsa -s 2048 -f"
        self.log = open(self.log_path, "w+b")
        # The image's own shell runs the steps, with builtins only: `read` waits for
        # the test, and dropbear then replaces the shell. The user key's public half
        # is what dropbearkey prints (the runner reads it the same way).
        script = (
            f"read go && {keygen} {HOST_KEY} >/dev/null && {keygen} {USER_KEY} && "
            f"{k} dropbearconvert dropbear openssh {USER_KEY} /home/work/id_container && "
            "echo keys-ready && read port && "
            f"exec {k} dropbear -r {HOST_KEY} {' '.join(DROPBEAR_FLAGS)} -p 127.0.0.1:$port"
        )
        self.proc = image.start(
            self.root,
            self.opt / "backend.ai",
            ["/bin/sh", "-c", script],
            arch=self.arch,
            env={"PATH": f"{KERNEL_BIN}:{image.DEFAULT_PATH}", MARK: "kept"},
            mounts=[(self.opt, "/opt")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
        )
        try:
            self.netns = image.netns_of(self.proc)
            # The image's /tmp is its own tmpfs once pid 1 has mounted it.
            outside = os.stat(self.root / "tmp").st_dev
            self._wait_for(
                lambda: os.stat(self.inside("/tmp")).st_dev != outside, "the image's /tmp"
            )
            # The runner makes /tmp/dropbear itself (Python's mkdir); the image may have no mkdir.
            tmp_dropbear = self.inside("/tmp/dropbear")
            tmp_dropbear.mkdir()
            os.chown(tmp_dropbear, image.WORK_UID, image.WORK_GID)
            self._say("go")
            printed = []
            while True:
                line = self.proc.stdout.readline().decode()
                if not line or line.strip() == "keys-ready":
                    break
                printed.append(line)
            pub = [line.strip() for line in printed if line.startswith("ssh-rsa ")]
            if not line or len(pub) != 1:
                raise RuntimeError(
                    f"key generation failed: {''.join(printed)}; log:\n{self.output()}"
                )
            self._authorize(pub[0])
            self.port = free_port(self.netns)
            self._say(str(self.port))
            self._wait_for(self._listening, "dropbear listening")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _say(self, line: str) -> None:
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def _authorize(self, pub: str) -> None:
        """authorized_keys and its directory, as init_sshd_service writes them."""
        ssh = self.inside("/home/work/.ssh")
        ssh.mkdir(mode=0o700)
        (ssh / "authorized_keys").write_text(pub + "\n")
        (ssh / "authorized_keys").chmod(0o600)
        for p in (ssh, ssh / "authorized_keys"):
            os.chown(p, image.WORK_UID, image.WORK_GID)

    def _listening(self) -> bool:
        with in_netns(self.netns), socket.socket() as s:
            return s.connect_ex(("127.0.0.1", self.port)) == 0

    def _wait_for(self, ready, what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not ready():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{what}: not ready (image exit {self.proc.returncode}); log:\n{self.output()}"
                )
            time.sleep(0.05)

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")[-6000:]

    def __exit__(self, *exc) -> None:
        if self.proc is not None:
            self.proc.stdin.close()
            image.stop(self.proc)
            self.proc.stdout.close()
        if self.show_log:
            print(f"--- dropbear's log ---\n{self.output()}")
        self.log.close()


class OpenSSHClient:
    """ssh, scp and sftp from the pinned openssh-client root, logging in as work with `key`."""

    def __init__(self, client_root: Path, arch: str, key: Path, port: int, tmp: Path):
        self.port = port
        lib = client_root / "usr/lib" / _TRIPLET[arch]
        self.run_prefix = [str(lib / _LDSO[arch]), "--library-path", str(lib)]
        self.bin = client_root / "usr/bin"
        self.options = [
            "-F",
            "/dev/null",
            "-i",
            str(key),
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "GlobalKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
        ]
        # scp and sftp start ssh themselves: `-S` names this launcher of the root's ssh.
        self.ssh_launcher = tmp / "ssh"
        quoted = " ".join(
            f"'{a}'" for a in [*self.run_prefix, str(self.bin / "ssh"), *self.options]
        )
        self.ssh_launcher.write_text(f'#!/bin/sh\nexec {quoted} "$@"\n')
        self.ssh_launcher.chmod(0o755)

    def _tool(self, name: str) -> list[str]:
        return [*self.run_prefix, str(self.bin / name)]

    def ssh(
        self, command: str, netns: Path, timeout: float, extra: tuple[str, ...] = ()
    ) -> subprocess.CompletedProcess:
        """`command` run by the server's shell; `extra` are more ssh options (say, -vv)."""
        argv = [
            *self._tool("ssh"),
            *self.options,
            *extra,
            "-p",
            str(self.port),
            "work@127.0.0.1",
            command,
        ]
        with in_netns(netns):
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def scp(self, src: str, dst: str, netns: Path, timeout: float) -> subprocess.CompletedProcess:
        """scp's original protocol (-O), which runs the server's `scp -t`/`-f`: dropbear's scp."""
        argv = [
            *self._tool("scp"),
            "-O",
            "-q",
            "-S",
            str(self.ssh_launcher),
            "-P",
            str(self.port),
            src,
            dst,
        ]
        with in_netns(netns):
            return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)

    def sftp(self, batch: str, netns: Path, timeout: float) -> subprocess.CompletedProcess:
        """An sftp batch; the server runs its SFTP subsystem, /opt/kernel/sftp-server."""
        argv = [
            *self._tool("sftp"),
            "-q",
            "-S",
            str(self.ssh_launcher),
            "-P",
            str(self.port),
            "-b",
            "-",
            "work@127.0.0.1",
        ]
        with in_netns(netns):
            return subprocess.run(
                argv, input=batch, capture_output=True, text=True, timeout=timeout
            )
