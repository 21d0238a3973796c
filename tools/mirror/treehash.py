"""A hash of an archive's extracted tree, independent of how the archive is packed.

Two archives with the same files (paths, contents, exec bits, symlink targets)
have the same tree hash whatever their compression, member order, mtimes or
owners. Directories are not hashed; an empty one makes no difference.

Each file under the stripped top directory contributes one line, sorted by path:
`f <x|-> <sha256 of content> <path>` for a file (`x` if any exec bit is set),
`l <target> <path>` for a symlink; the tree hash is the sha256 of those lines.

The lines must describe what extraction makes, so a path is read as tar reads
it (`./pkg/a`, `pkg//a` and `pkg/./a` are all `pkg/a`), and an archive that
names one path twice is refused: extraction keeps the last member, so a crafted
archive could show one file to the hash and leave another on disk. A member
below a symlink of the archive (which extraction would write through the link)
is refused too.
"""

from __future__ import annotations

import functools
import hashlib
import tarfile
from pathlib import Path


class TreeError(Exception):
    """The archive cannot be read as a tree under the expected top directory."""


def _canonical(name: str) -> str:
    """A member name as extraction sees it: no `.`, empty or trailing components."""
    if name.startswith("/"):
        raise TreeError(f"member {name!r} is absolute")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise TreeError(f"member {name!r} escapes the tree")
    return "/".join(parts)


def _strip(name: str, prefix: str) -> str | None:
    name = _canonical(name)
    prefix = _canonical(prefix)
    if not prefix:
        return name
    if name == prefix or not name:
        return None
    if not name.startswith(prefix + "/"):
        raise TreeError(f"member {name!r} is outside the top directory {prefix!r}")
    return name[len(prefix) + 1 :]


def tree_lines(archive: Path, strip_prefix: str) -> list[str]:
    """The sorted per-file lines the tree hash is made of."""
    lines: dict[str, str] = {}
    kinds: dict[str, str] = {}  # canonical path below the prefix -> "d", "f" or "l"
    seen: dict[str, tarfile.TarInfo] = {}  # canonical full name -> member, for hard links
    try:
        with tarfile.open(archive) as tar:
            for member in tar:
                if (
                    not member.isdir()
                    and member.name.rstrip("/").split("/")[-1] in (".", "")
                    or not member.isdir()
                    and member.name.endswith("/")
                ):  # found by tests/fuzz
                    raise TreeError(
                        f"member {member.name!r} is not a directory but is named as one"
                    )
                full = _canonical(member.name)
                rel = _strip(member.name, strip_prefix)
                kind = "d" if member.isdir() else "l" if member.issym() else "f"
                if full in seen and not (member.isdir() and seen[full].isdir()):
                    raise TreeError(
                        f"member {member.name!r} names {full!r} a second time; "
                        "extraction would keep only the last one"
                    )
                seen[full] = member
                if not rel:
                    if not member.isdir():  # found by tests/fuzz: `top/.` as a file or link
                        raise TreeError(
                            f"member {member.name!r} is the top directory {strip_prefix!r} "
                            "but not a directory"
                        )
                    continue
                for i in range(1, rel.count("/") + 1):
                    parent = rel.rsplit("/", i)[0]
                    if kinds.get(parent) in ("f", "l"):
                        raise TreeError(
                            f"member {member.name!r} is below {parent!r}, "
                            "which is not a directory of the archive"
                        )
                    kinds.setdefault(parent, "d")  # made by extraction, as a directory
                if kinds.get(rel) == "d" and kind != "d":  # found by tests/fuzz
                    raise TreeError(
                        f"member {member.name!r} is a file or link where earlier "
                        "members need a directory"
                    )
                kinds[rel] = kind
                if member.issym():
                    lines[rel] = f"l {member.linkname} {rel}\n"
                elif member.isfile() or member.islnk():
                    if member.islnk():
                        target = seen.get(_canonical(member.linkname))
                        if target is None or not target.isfile():
                            raise TreeError(
                                f"hard link {member.name!r} -> {member.linkname!r} "
                                "names no earlier file of the archive"
                            )
                    else:
                        target = member
                    digest = hashlib.sha256()
                    stream = tar.extractfile(target)
                    for chunk in iter(functools.partial(stream.read, 1 << 20), b""):
                        digest.update(chunk)
                    mode = "x" if target.mode & 0o111 else "-"
                    lines[rel] = f"f {mode} {digest.hexdigest()} {rel}\n"
                elif not member.isdir():
                    raise TreeError(
                        f"member {member.name!r} is a device, fifo or other special file"
                    )
    except (tarfile.TarError, OSError, EOFError, ValueError) as err:
        raise TreeError(f"{archive}: not a readable tar archive ({err})") from err
    return [lines[k] for k in sorted(lines, key=lambda p: p.encode())]


def tree_sha256(archive: Path, strip_prefix: str) -> str:
    """The tree hash of `archive` below `strip_prefix`."""
    return hashlib.sha256("".join(tree_lines(archive, strip_prefix)).encode()).hexdigest()
