"""Say why building the sid root failed, from mmdebstrap's exit and output.

mmdebstrap fails for reasons that need different fixes; blaming every failure on
a moved pin sends people to edit sid_root.json when the disk is full. The causes
are checked from the most specific evidence to the least: an interruption, a
full disk (which also breaks downloads), a pinned package sid no longer has, an
expired index, then the network. Anything else is reported as it is, with the
end of mmdebstrap's output.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from bazel_wrapper.tied import SIGNAL_BASE

# What a provisioning needs on the cache's disk: the root (about 1.8 GB), apt's
# downloads while it is built, and for a non-root user the tarball mmdebstrap
# writes before it is unpacked (as large again).
ROOT_BYTES = 1_800_000_000
NEEDED_BYTES = {"root": 2_500_000_000, "unprivileged": 4_500_000_000}

_MISSING = [
    re.compile(r"Version '([^']+)' for '([^']+)' was not found"),
    re.compile(r"Unable to locate package (\S+)"),
    re.compile(r"Package '?([^' ]+)'? has no installation candidate"),
]
_NETWORK = ("Could not resolve", "Temporary failure resolving", "Failed to fetch",
            "Connection refused", "Connection timed out", "Could not connect",
            "Unable to connect", "Network is unreachable", "No route to host",
            "Connection failed", "Unable to fetch some archives")


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


def explain(returncode: int, output: str, *, spec_path: Path, suite: str, disk: Path,
            mirror: str, privileged: bool) -> str:
    """The message for a failed mmdebstrap run: cause first, fix, then its output's end."""
    tail = _tail(output)
    needed = NEEDED_BYTES["root" if privileged else "unprivileged"]
    if returncode >= SIGNAL_BASE or returncode < 0 or "interrupted" in output.lower():
        signum = returncode - SIGNAL_BASE if returncode >= SIGNAL_BASE else -returncode
        return (f"building the Debian {suite} root was interrupted (signal {signum}); nothing "
                "was kept. Run tools/bazel again to build it from the start.")
    if "No space left on device" in output or "enough free space" in output:
        try:
            free = _gb(shutil.disk_usage(disk).free)
        except OSError:
            free = "unknown"
        return (f"building the Debian {suite} root failed: no space left on the disk holding "
                f"{disk} ({free} free now). The root needs about {_gb(needed)} free there while "
                f"it is built and {_gb(ROOT_BYTES)} once done. Free some space, or set "
                f"KRUNNER_CACHE to a directory on a disk with room, and run again.\n{tail}")
    missing = missing_packages(output)
    if missing or "held broken packages" in output:
        what = ", ".join(missing) if missing else "the pinned versions cannot be installed together"
        return (f"building the Debian {suite} root failed: {suite} no longer has {what}. "
                f"Sid moves on: bump the pins in {spec_path} to versions the mirror has "
                f"(README: 'Bumping a pinned version'), then run again.\n{tail}")
    if re.search(r"Release file for \S+ is expired", output):
        return (f"building the Debian {suite} root failed: the mirror's {suite} index ({mirror}) "
                "has expired and is older than tools/bazel accepts (KRUNNER_APT_MAX_AGE_DAYS days "
                "after its Date; an old index could be a replayed one). Use an up-to-date mirror, "
                "or raise KRUNNER_APT_MAX_AGE_DAYS if this mirror is a snapshot you trust.\n"
                f"{tail}")
    if any(marker in output for marker in _NETWORK):
        return (f"building the Debian {suite} root failed: the Debian mirror {mirror} could not "
                "be reached or did not serve every file. Check the network, any proxy, and the "
                "mirror in apt's sources (or KRUNNER_DEBIAN_MIRROR), then run again.\n"
                f"{tail}")
    return (f"building the Debian {suite} root failed (mmdebstrap exit {returncode}); its output "
            f"ends with:\n{tail}")
