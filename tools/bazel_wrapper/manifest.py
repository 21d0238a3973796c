"""The sid root's identity: every installed package, version and architecture.

Only a few packages are pinned in sid_root.json; the JDK's patch level and the
rest of the root follow the mirror on the day the root was built. Two machines
can therefore hold different roots under one spec key. The manifest, recorded
when the root is provisioned, says exactly what a root holds; its sha256 is
printed by `tools/bazel version` and put into every action's key, so caches never
mix outputs of different roots.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

MANIFEST = ".krunner-manifest.tsv"


def installed(root: Path) -> dict[str, tuple[str, str]]:
    """{package: (version, architecture)} of what dpkg has installed in `root`."""
    status = (root / "var/lib/dpkg/status").read_text(errors="replace")
    packages = {}
    for stanza in status.split("\n\n"):
        fields = dict(
            line.split(": ", 1)
            for line in stanza.splitlines()
            if ": " in line and not line.startswith(" ")
        )
        if "install ok installed" in fields.get("Status", "") and "Package" in fields:
            packages[fields["Package"]] = (
                fields.get("Version", ""),
                fields.get("Architecture", ""),
            )
    return packages


def render(packages: dict[str, tuple[str, str]]) -> str:
    """The manifest text: `package<TAB>version<TAB>arch` lines, sorted by package."""
    return "".join(
        f"{name}\t{version}\t{arch}\n" for name, (version, arch) in sorted(packages.items())
    )


def record(root: Path) -> str:
    """Write `root`'s manifest from dpkg's status; returns its sha256."""
    text = render(installed(root))
    (root / MANIFEST).write_text(text)
    return hashlib.sha256(text.encode()).hexdigest()


def digest(root: Path) -> tuple[str, int]:
    """The manifest's sha256 and package count (computed from dpkg for an older root)."""
    try:
        text = (root / MANIFEST).read_text()
    except FileNotFoundError:  # made before manifests were recorded: same answer, from dpkg
        text = render(installed(root))
    return hashlib.sha256(text.encode()).hexdigest(), text.count("\n")
