"""Find the binaries under test in the runfiles and say how to run each.

The BUILD file passes each binary's runfiles path in an environment variable
($(rlocationpath ...)). The aarch64 binary runs under Debian's qemu-user,
called explicitly (no binfmt_misc registration is needed or assumed); the
processes it starts (the shell ttyd spawns) are native, which qemu-user
executes directly.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
from pathlib import Path


@dataclasses.dataclass(frozen=True)
class Arch:
    """One target architecture of ttyd.

    Attributes:
      name: "x86_64" or "aarch64".
      env: the environment variable holding the ttyd binary's rlocationpath.
      machine: the ELF machine the binary must have (support.elf.MACHINES).
      emulator: the qemu-user program to run it with, or None to run it natively.
    """

    name: str
    env: str
    machine: str
    emulator: str | None


ARCHES = {
    "x86_64": Arch("x86_64", "TTYD_LINUX_X86_64", "x86_64", None),
    "aarch64": Arch("aarch64", "TTYD_LINUX_AARCH64", "aarch64", "qemu-aarch64"),
}


def runfile(var: str) -> Path:
    """The runfile whose rlocationpath is in environment variable `var`."""
    if var not in os.environ:
        raise RuntimeError(
            f"${var} is not set: run this test with `tools/bazel test //tests/ttyd/...`, "
            f"whose BUILD file sets it to the binary's $(rlocationpath)"
        )
    path = Path(os.environ["TEST_SRCDIR"]) / os.environ[var]
    if not path.is_file():
        raise RuntimeError(f"${var} names {path}, which does not exist")
    return path


def emulator_prefix(emulator: str | None) -> list[str]:
    """The argv prefix that runs a foreign binary: [] or [/path/to/qemu-aarch64]."""
    if emulator is None:
        return []
    found = shutil.which(emulator)
    if found is None:
        raise RuntimeError(
            f"{emulator} is not installed in the test's root: it comes from Debian's qemu-user, "
            f"listed in tools/bazel_wrapper/sid_root.json. If that list changed while a Bazel "
            f"server was running, run `tools/bazel shutdown` so the next call uses the new root."
        )
    return [found]


def ttyd_argv(arch: Arch, *options: str, command: tuple[str, ...] = ("/bin/sh",)) -> list[str]:
    """Run ttyd for `arch` on 127.0.0.1, a kernel-chosen port, input allowed (-W)."""
    return [
        *emulator_prefix(arch.emulator),
        str(runfile(arch.env)),
        "--port",
        "0",
        "--interface",
        "127.0.0.1",
        "--writable",
        *options,
        *command,
    ]
