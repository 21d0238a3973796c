"""Verification markers: what a mirror file was checked against, kept beside it.

`<file>.verified` is JSON: `{"sha256": ..., "tree_sha256": ...}`, the archive's
sha256 that was checked and, for a substitute, the tree hash checked with it. A
marker stands for a past check only when both values equal today's pins, so an
edited lock can never reuse a check made against other bytes. It also tells the
two reasons a file may stop matching its pin apart: the file still has the
sha256 it was verified with (the lock changed), or it has not (the file changed).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

SUFFIX = ".verified"
# Written by earlier versions: it held only the tree hash, so it is never trusted.
LEGACY_SUFFIX = ".tree-verified"


def marker_path(target: Path) -> Path:
    """Where the marker of `target` lives."""
    return target.with_name(target.name + SUFFIX)


def read(target: Path) -> dict:
    """The marker of `target` as a dict (empty when there is none or it is unreadable)."""
    try:
        data = json.loads(marker_path(target).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write(target: Path, sha256: str, tree_sha256: str | None = None) -> None:
    """Record that `target` was verified as `sha256` (and `tree_sha256`), atomically."""
    path = marker_path(target)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(
        json.dumps({"sha256": sha256, "tree_sha256": tree_sha256}, sort_keys=True) + "\n"
    )
    os.replace(tmp, path)
    legacy = target.with_name(target.name + LEGACY_SUFFIX)
    if legacy.exists():
        legacy.unlink()


def covers(target: Path, sha256: str, tree_sha256: str | None = None) -> bool:
    """True when the marker records a check against exactly these pins."""
    data = read(target)
    return data.get("sha256") == sha256 and data.get("tree_sha256") == tree_sha256


def clear(target: Path) -> None:
    """Forget a verification (before the file is replaced)."""
    for path in (marker_path(target), target.with_name(target.name + LEGACY_SUFFIX)):
        if path.exists():
            path.unlink()
