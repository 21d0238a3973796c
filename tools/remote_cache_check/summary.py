"""Bazel's process summary line: how many spawns ran where, and what counts as a miss.

Bazel 7 ends a build with, for example,
    INFO: 812 processes: 790 remote cache hit, 22 internal.
    INFO: 812 processes: 22 internal, 790 linux-sandbox.
("internal" processes are Bazel's own work, such as symlinks and file writes;
they are never cached remotely). Everything else is a spawn that a full remote
cache serves, so a checkout whose cache is full has hits == total - internal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"INFO: (\d+) process(?:es)?(?:: (.*?))?\.?\s*$")
_PART = re.compile(r"(\d+) (.+)")


@dataclass(frozen=True)
class Summary:
    """One summary line: the total and the count per kind ("remote cache hit", ...)."""

    line: str
    total: int
    kinds: dict[str, int]

    @property
    def remote_hits(self) -> int:
        return self.kinds.get("remote cache hit", 0)

    @property
    def remotable(self) -> int:
        """Spawns a remote cache could have served: all but Bazel's internal ones."""
        return self.total - self.kinds.get("internal", 0)

    @property
    def misses(self) -> int:
        return self.remotable - self.remote_hits


def parse(output: str) -> Summary:
    """The last process summary in Bazel's output; ValueError if there is none."""
    found = None
    for line in output.splitlines():
        match = _LINE.search(line)
        if match:
            found = (line.strip(), match)
    if not found:
        raise ValueError("no 'INFO: N processes: ...' line in Bazel's output (did the build run?)")
    line, match = found
    kinds: dict[str, int] = {}
    for part in (match.group(2) or "").split(", "):
        part_match = _PART.fullmatch(part.strip())
        if part_match:
            kinds[part_match.group(2)] = kinds.get(part_match.group(2), 0) + int(
                part_match.group(1)
            )
    return Summary(line=line, total=int(match.group(1)), kinds=kinds)


def upload_errors(output: str) -> list[str]:
    """Bazel's warnings about results it could not write to the remote cache, with the
    server's reason ("Caused by: ..."): the build passes, but the cache has holes."""
    lines = output.splitlines()
    found = []
    for i, line in enumerate(lines):
        if "WARNING: Remote Cache:" in line:
            cause = next(
                (
                    line.split("Caused by:", 1)[1].strip()
                    for line in lines[i : i + 80]
                    if "Caused by:" in line
                ),
                "",
            )
            found.append(line.split("WARNING: ", 1)[1] + (f" ({cause})" if cause else ""))
    return found
