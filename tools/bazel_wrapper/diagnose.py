"""Say why building the sid root failed, from mmdebstrap's exit and output.

mmdebstrap installs only the pinned .deb files (sid_lock.py fetched and checked
them, and reports a missing or tampered file itself), so what is left to tell
apart is an interruption, a full disk, and a lock whose packages cannot be
installed together (sid_root.json edited without re-running tools/lock_sid_root).
Anything else is reported as it is, with the end of mmdebstrap's output.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bazel_wrapper.tied import SIGNAL_BASE

# What a provisioning needs on the cache's disk: the root (about 1.8 GB), the
# pinned .deb files (0.8 GB, kept in debs/) and their copy in the chroot while it
# is built, and for a non-root user the tarball mmdebstrap writes before it is
# unpacked (as large again as the root).
ROOT_BYTES = 1_800_000_000
NEEDED_BYTES = {"root": 3_300_000_000, "unprivileged": 5_300_000_000}

_MISSING = [
    re.compile(r"Version '([^']+)' for '([^']+)' was not found"),
    re.compile(r"Unable to locate package (\S+)"),
    re.compile(r"Package '?([^' ]+)'? has no installation candidate"),
]


def _gb(n: int) -> str:
    return f"{n / 1e9:.1f} GB"


def _tail(output: str, lines: int = 12) -> str:
    return "\n".join(output.strip().splitlines()[-lines:])


def missing_packages(output: str) -> list[str]:
    """The packages (with the pinned version, when apt names it) that sid lacks."""
    found = []
    for pattern in _MISSING:
        for match in pattern.finditer(output):
            groups = match.groups()
            found.append(f"{groups[1]}={groups[0]}" if len(groups) == 2 else groups[0])
    return sorted(set(found))


def explain(
    returncode: int, output: str, *, lock_path: Path, suite: str, disk: Path, privileged: bool
) -> str:
    """The message for a failed mmdebstrap run: cause first, fix, then its output's end."""
    tail = _tail(output)
    needed = NEEDED_BYTES["root" if privileged else "unprivileged"]
    if returncode >= SIGNAL_BASE or returncode < 0 or "interrupted" in output.lower():
        signum = returncode - SIGNAL_BASE if returncode >= SIGNAL_BASE else -returncode
        return (
            f"building the Debian {suite} root was interrupted (signal {signum}); nothing "
            "was kept. Run tools/bazel again to build it from the start."
        )
    if "No space left on device" in output or "enough free space" in output:
        try:
            free = _gb(shutil.disk_usage(disk).free)
        except OSError:
            free = "unknown"
        return (
            f"building the Debian {suite} root failed: no space left on the disk holding "
            f"{disk} ({free} free now). The root needs about {_gb(needed)} free there while "
            f"it is built and {_gb(ROOT_BYTES)} once done. Free some space, or set "
            f"KRUNNER_CACHE to a directory on a disk with room, and run again.\n{tail}"
        )
    missing = missing_packages(output)
    if missing or "held broken packages" in output or "unmet dependencies" in output.lower():
        what = ", ".join(missing) if missing else "packages that cannot be installed together"
        return (
            f"building the Debian {suite} root failed: {lock_path.name} lacks or mismatches "
            f"{what}. Run tools/lock_sid_root to pin the closure of sid_root.json again "
            f"(README: 'Bumping a pinned version'), then run again.\n{tail}"
        )
    return (
        f"building the Debian {suite} root failed (mmdebstrap exit {returncode}); its output "
        f"ends with:\n{tail}"
    )
