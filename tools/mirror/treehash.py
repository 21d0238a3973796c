"""A hash of an archive's extracted tree, independent of how the archive is packed.

Two archives with the same files (paths, contents, exec bits, symlink targets)
have the same tree hash whatever their compression, member order, mtimes or
owners. Directories are not hashed; an empty one makes no difference.

Each file under the stripped top directory contributes one line, sorted by path:
`f <x|-> <sha256 of content> <path>` for a file (`x` if any exec bit is set),
`l <target> <path>` for a symlink; the tree hash is the sha256 of those lines.
"""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path


class TreeError(Exception):
    """The archive cannot be read as a tree under the expected top directory."""


def _strip(name: str, prefix: str) -> str | None:
    while name.startswith("./"):
        name = name[2:]
    if not prefix:
        return name
    if name == prefix:
        return None
    if not name.startswith(prefix + "/"):
        raise TreeError(f"member {name!r} is outside the top directory {prefix!r}")
    return name[len(prefix) + 1:]


def tree_lines(archive: Path, strip_prefix: str) -> list[str]:
    """The sorted per-file lines the tree hash is made of."""
    lines: dict[str, str] = {}
    try:
        with tarfile.open(archive) as tar:
            members = {m.name: m for m in tar.getmembers()}
            for member in members.values():
                rel = _strip(member.name, strip_prefix.strip("/"))
                if not rel:
                    continue
                if ".." in rel.split("/") or rel.startswith("/"):
                    raise TreeError(f"member {member.name!r} escapes the tree")
                if member.issym():
                    lines[rel] = f"l {member.linkname} {rel}\n"
                elif member.isfile() or member.islnk():
                    target = members[member.linkname] if member.islnk() else member
                    digest = hashlib.sha256()
                    stream = tar.extractfile(target)
                    for chunk in iter(lambda: stream.read(1 << 20), b""):
                        digest.update(chunk)
                    mode = "x" if target.mode & 0o111 else "-"
                    lines[rel] = f"f {mode} {digest.hexdigest()} {rel}\n"
    except (tarfile.TarError, OSError, EOFError, KeyError) as err:
        raise TreeError(f"{archive}: not a readable tar archive ({err})") from err
    return [lines[k] for k in sorted(lines, key=lambda p: p.encode())]


def tree_sha256(archive: Path, strip_prefix: str) -> str:
    """The tree hash of `archive` below `strip_prefix`."""
    return hashlib.sha256("".join(tree_lines(archive, strip_prefix)).encode()).hexdigest()
