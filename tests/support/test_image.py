"""support.image on the test roots, with an empty stand-in volume: what a command
in an image sees (uid 1000, a read-only /opt/backend.ai, LD_LIBRARY_PATH, its own
PID and network namespaces, writable /tmp and /home/work), and that an arm64
root runs under qemu, also for programs its shell forks."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from support import image

RUNFILES = Path(os.environ["TEST_SRCDIR"])
GLIBC = Path(os.path.realpath(RUNFILES / os.environ["GLIBC_ROOT"])).parent / "root"
MUSL_ARM64 = Path(os.path.realpath(RUNFILES / os.environ["MUSL_ARM64_ROOT"])).parent / "root"
PROBE = (
    'while read k v rest; do [ "$k" = Uid: ] && echo "uid $v $rest"; done < /proc/self/status; '
    'echo "pid $$ ld $LD_LIBRARY_PATH home $HOME"; '
    "echo x > /tmp/t && echo x > /home/work/t && echo writable; "
    "(echo x > /opt/backend.ai/t) 2>/dev/null || echo read-only; "
    'while read iface rest; do echo "net $iface"; done < /proc/net/dev'
)


@pytest.fixture
def volume(tmp_path):
    (tmp_path / "lib").mkdir()
    return tmp_path


@pytest.mark.parametrize(
    "root,arch", [(GLIBC, "x86_64"), (MUSL_ARM64, "aarch64")], ids=["glibc-x86_64", "musl-aarch64"]
)
def test_what_the_command_sees(root, arch, volume):
    proc = image.run(root, volume, ["/bin/sh", "-c", PROBE], arch=arch, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["uid"] + ["1000"] * 4
    # the shell is pid 2 (pid 1 is the entering process), the agent's LD_LIBRARY_PATH, HOME
    assert lines[1] == "pid 2 ld /opt/backend.ai/lib home /home/work"
    assert lines[2:4] == ["writable", "read-only"]
    assert [line for line in lines if line.startswith("net ")][2:] == ["net lo:"]  # only loopback


def test_forked_arm64_programs_run_under_qemu(volume):
    proc = image.run(
        MUSL_ARM64,
        volume,
        ["/bin/sh", "-c", "uname -m; /bin/busybox sh -c 'uname -m'"],
        arch="aarch64",
        timeout=120,
    )
    assert (proc.returncode, proc.stdout) == (0, "aarch64\naarch64\n"), proc.stderr


def test_exit_status_passes_through(volume):
    proc = image.run(GLIBC, volume, ["/bin/sh", "-c", "exit 7"], arch="x86_64")
    assert proc.returncode == 7
