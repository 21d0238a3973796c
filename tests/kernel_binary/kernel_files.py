"""The agent's in-container binaries under test, and the images they run in.

The BUILD file passes runfiles paths in environment variables: each binary as
`<NAME>_<ARCH>` (SU_EXEC_X86_64, TMUX_AARCH64, ...), each test root as
`ROOT_<LIBC>_<ARCH>`, and files of the pinned backend.ai-kernel-binary 26.9.6
wheel (its `.tmux.conf`, a file of its `terminfo.alpine3.8`) and of the 26.9.6
runner (`intrinsic.py`). Binaries are mounted where the agent mounts them,
one file each: /opt/kernel/su-exec, /opt/kernel/tmux, /opt/kernel/ttyd.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

ARCHES = ("x86_64", "aarch64")
LIBCS = ("glibc", "musl")
DEBIAN_ARCH = {"x86_64": "amd64", "aarch64": "arm64"}
# Agent file name (in /opt/kernel) -> environment variable prefix.
BINARIES = {"su-exec": "SU_EXEC", "tmux": "TMUX", "ttyd": "TTYD"}


def runfile(var: str) -> Path:
    """The runfile whose rlocationpath is in environment variable `var`."""
    if var not in os.environ:
        raise RuntimeError(
            f"${var} is not set: run this test with `tools/bazel test //tests/kernel_binary/...`, "
            "whose BUILD file sets it to a $(rlocationpath)"
        )
    path = Path(os.environ["TEST_SRCDIR"]) / os.environ[var]
    if not path.exists():
        raise RuntimeError(f"${var} names {path}, which does not exist")
    return path


def binary(name: str, arch: str) -> Path:
    """Our build of the agent's `name` (su-exec, tmux, ttyd) for `arch`."""
    return runfile(f"{BINARIES[name]}_{arch.upper()}")


def root(libc: str, arch: str) -> Path:
    """The trixie test root of `libc` for `arch` (tests/rootfs)."""
    # The ROOT marker file sits beside the root's `root/` directory, in the repository.
    return Path(os.path.realpath(runfile(f"ROOT_{libc.upper()}_{arch.upper()}"))).parent / "root"


def kernel_mounts(tmp: Path, arch: str, *names: str) -> list[tuple[Path, str]]:
    """Mounts of our binaries at /opt/kernel/<name>, each copied with mode 0755 first.

    Bazel's outputs are read-only and may be symlinks; the agent's files are plain
    executables, so the mounted ones are too.
    """
    mounts = []
    for name in names:
        copy = tmp / "kernel" / arch / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        if not copy.exists():
            shutil.copyfile(binary(name, arch), copy)
            copy.chmod(0o755)
        mounts.append((copy, f"/opt/kernel/{name}"))
    return mounts


def empty_volume(tmp: Path) -> Path:
    """An empty directory for /opt/backend.ai: these binaries need no krunner volume."""
    volume = tmp / "empty-volume"
    volume.mkdir(exist_ok=True)
    return volume


def upstream_runner_dir() -> Path:
    """ai/backend/runner of the pinned backend.ai-kernel-binary wheel (for the host's CPU)."""
    return runfile("UPSTREAM_TMUX_CONF").parent


def agent_terminfo() -> Path:
    """The wheel's terminfo.alpine3.8, which the agent mounts at /home/work/.terminfo."""
    # The repository's real directory: the runfiles tree holds symlinks to host paths,
    # which would dangle inside the image.
    return Path(os.path.realpath(runfile("UPSTREAM_TERMINFO_FILE"))).parent.parent
