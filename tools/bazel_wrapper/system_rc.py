"""Debian's system bazelrc, minus the line that makes every command warn twice.

Debian's /etc/bazel/bazelrc sets `build --host_javabase=@local_jdk//:jdk`, an
option Bazel 7 ignores except to print "Option 'host_javabase' is deprecated",
twice per command. The wrapper mounts a copy without that line over the
original inside the namespace; the root itself, and the rest of the file (the
module overrides, the install base), stay as Debian made them.
"""

from __future__ import annotations

import os
from pathlib import Path

INSIDE = Path("/etc/bazel/bazelrc")
DROPPED = ("--host_javabase",)


def filtered(text: str) -> str:
    """`text` without the lines that set a dropped option."""
    return "".join(
        line
        for line in text.splitlines(keepends=True)
        if not any(opt in line.split("#", 1)[0] for opt in DROPPED)
    )


def quiet_copy(root: Path, cache: Path) -> Path | None:
    """A filtered copy of the root's system rc under the cache, or None if it needs none."""
    original = root / INSIDE.relative_to("/")
    try:
        text = original.read_text()
    except FileNotFoundError:
        return None
    quiet = filtered(text)
    if quiet == text:
        return None
    copy = cache / "rc" / f"{root.name}.system.bazelrc"
    if not copy.exists() or copy.read_text() != quiet:
        copy.parent.mkdir(mode=0o755, exist_ok=True)
        tmp = copy.with_name(f".{copy.name}.{os.getpid()}")
        tmp.write_text(quiet)
        os.replace(tmp, copy)
    return copy
