"""Write a krunner volume: a deterministic `.tar.xz` of the /opt/backend.ai tree.

The agent's extractor runs `tar xJf archive -C /root/volume/`, so members are
relative paths of the volume root (`./bin/python3`, ...). Trees (the runtime,
the installed packages), single files (ttyd, licenses) and empty directories are
merged into one listing. A path may come from only one input, unless both are
directories. The archive has sorted members, a fixed mtime, uid/gid 0 with empty
owner names, normalised modes (0755 for directories and executables, 0644
otherwise: see `is_executable`), symlinks kept as symlinks, and xz without timestamps. A symlink that
points outside the root, or an absolute one, stops the build; so does one that
leaves the root only when the volume's other links are followed (`x/y -> ..`
and `x/z -> y/../..`), since the extracted volume follows them.
"""

from __future__ import annotations

import argparse
import dataclasses
import filecmp
import io
import lzma
import os
import posixpath
import stat
import sys
import tarfile
from pathlib import Path

# rules_pkg's portable mtime (2000-01-01): no 1970 dates that some tools take for "unset".
PORTABLE_MTIME = 946684800


class VolumeError(Exception):
    """An input that cannot go into a volume as it is; the message names it."""


@dataclasses.dataclass(frozen=True)
class Entry:
    """One member of the volume: a directory, a file (from `source`) or a symlink."""

    kind: str  # "dir" | "file" | "symlink"
    source: str = ""
    executable: bool = False
    target: str = ""
    origin: str = ""


def _check_symlink(path: str, target: str, origin: str) -> None:
    if target.startswith("/"):
        raise VolumeError(
            f"{origin}: symlink {path} -> {target} is absolute; the volume is "
            "mounted elsewhere than it is built, so make it relative"
        )
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(path), target))
    if resolved == ".." or resolved.startswith("../"):
        raise VolumeError(f"{origin}: symlink {path} -> {target} escapes the volume root")


MAX_LINK_HOPS = 40  # as the kernel's limit: more is a loop


def link_escapes(links: dict[str, str], path: str) -> bool:
    """Whether following the link `path` leaves the root, with every link on the way followed.

    `links` maps each symlink of the tree (relative path) to its target. Resolves
    as the kernel would after extraction: a `..` after a link goes up from where
    the link points, not from where it stands. A loop counts as escaping.
    """
    stack = path.split("/")[:-1]
    todo = links[path].split("/")
    hops = 0
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return True
            stack.pop()
            continue
        stack.append(part)
        current = "/".join(stack)
        if current in links:
            hops += 1
            target = links[current]
            if hops > MAX_LINK_HOPS or target.startswith("/"):
                return True
            stack.pop()
            todo = target.split("/") + todo
    return False


def check_links(entries: dict[str, Entry]) -> None:
    """Refuse a symlink that leaves the root once the volume's links are followed."""
    links = {p: e.target for p, e in entries.items() if e.kind == "symlink"}
    for path in sorted(links):
        if link_escapes(links, path):
            raise VolumeError(
                f"{entries[path].origin}: symlink {path} -> {links[path]} leaves the "
                "volume root (or loops) once the volume's other links are followed"
            )


def _add(entries: dict[str, Entry], path: str, entry: Entry) -> None:
    parts = path.split("/")
    if not path or path.startswith("/") or ".." in parts or "" in parts:
        raise VolumeError(f"{entry.origin}: member path {path!r} is absolute or escapes the root")
    old = entries.get(path)
    if old is not None and not (old.kind == entry.kind == "dir"):
        raise VolumeError(
            f"{path} comes from both {old.origin} and {entry.origin}; "
            "each volume path must have one source"
        )
    for i in range(1, len(parts)):  # parents exist as directories in every listing
        parent = "/".join(parts[:i])
        if entries.get(parent, Entry("dir")).kind != "dir":
            raise VolumeError(f"{entry.origin}: {path} is below {parent}, which is not a directory")
        entries.setdefault(parent, Entry("dir", origin=entry.origin))
    entries[path] = entry


def is_executable(path: str, rel: str, mode: int) -> bool:
    """Whether a tree file is a program (0755) rather than data (0644).

    Bazel makes every action output r-x, so a tree built by an action has an exec
    bit on every file, license texts and modules included; the bit alone says
    nothing. A file is a program when it has an exec bit and its content runs: an
    ELF executable or shared object, or a `#!` script that is a launcher (under
    `bin/`) or at least not a Python module (`.py` files are imported, not run).
    """
    if not mode & 0o111:
        return False
    with open(path, "rb") as f:
        head = f.read(18)
    if head[:4] == b"\x7fELF" and len(head) == 18:
        e_type = int.from_bytes(head[16:18], "little" if head[5] == 1 else "big")
        return e_type != 1  # programs and shared objects; relocatable objects (ET_REL) are data
    if head[:2] == b"#!":
        return rel.startswith("bin/") or "/bin/" in rel or not rel.endswith(".py")
    return False


def staged_tail(root: Path) -> str | None:
    """The part of a tree's path that its staged links end in, or None if not staged.

    Bazel's output tree is `.../execroot/<repo>/bazel-out/<config>/bin/<package>/<tree>`,
    in the sandbox and in the real execroot alike: from `bazel-out` on, both agree.
    """
    parts = os.path.abspath(root).split("/")
    if "bazel-out" not in parts:
        return None
    return "/".join(parts[len(parts) - 1 - parts[::-1].index("bazel-out") :])


def _unstage(path: str, rel: str, tail: str | None = None) -> tuple[str, os.stat_result]:
    """See through Bazel's staging of a tree artifact input.

    A sandbox stages each file of an input directory as an absolute symlink to
    the same relative path in the real output tree. Follow that one hop, so a
    real file is read as a file and a symlink the tree really has (bin/python3 ->
    python3.13) stays a symlink; any other absolute symlink is the tree's own.
    Only a link into Bazel's own copy of this very tree (`/execroot/` ...
    `<tail>/<rel>`) is a staging: `etc/passwd -> /etc/passwd` also ends in its
    own path, and following it would copy a host file into the volume.
    """
    st = os.lstat(path)
    if stat.S_ISLNK(st.st_mode) and tail is not None:
        link = os.readlink(path)
        if (
            link.startswith("/")
            and "/execroot/" in link
            and link.endswith(f"/{tail}/{rel}")
            and os.path.lexists(link)
        ):
            return link, os.lstat(link)
    return path, st


def add_tree(entries: dict[str, Entry], root: Path) -> None:
    """Add every directory, file and symlink below `root`, relative to it."""
    origin = str(root)
    if not root.is_dir():
        raise VolumeError(f"{origin} is not a directory")
    tail = staged_tail(root)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, root)
        for name in dirnames + sorted(filenames):
            full = os.path.join(dirpath, name)
            rel = name if rel_dir == "." else f"{rel_dir}/{name}"
            full, st = _unstage(full, rel, tail)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(full)
                _check_symlink(rel, target, origin)
                _add(entries, rel, Entry("symlink", target=target, origin=origin))
            elif stat.S_ISDIR(st.st_mode):
                _add(entries, rel, Entry("dir", origin=origin))
            elif stat.S_ISREG(st.st_mode):
                _add(
                    entries,
                    rel,
                    Entry(
                        "file",
                        source=full,
                        executable=is_executable(full, rel, st.st_mode),
                        origin=origin,
                    ),
                )
            else:
                raise VolumeError(f"{origin}: {rel} is neither file, directory nor symlink")


LAUNCHED_NAMES = ("bin/python", "bin/python3")


def replace_with_launcher(entries: dict[str, Entry], spec: str) -> None:
    """bin/python and bin/python3 become the launcher (krunner/launcher), which runs bin/INTERPRETER.

    Only links to the interpreter (or copies of it) are replaced, and the interpreter must be a
    file of the volume: a launcher with nothing to run would fail in every image.
    """
    src, _, interpreter = spec.partition("=")
    if not os.path.isfile(src) or not interpreter:
        raise VolumeError(f"--python-launcher {spec!r}: want SRC=INTERPRETER with SRC a file")
    real = entries.get(f"bin/{interpreter}")
    if real is None or real.kind != "file":
        raise VolumeError(f"the launcher runs bin/{interpreter}, which no tree provides as a file")
    for name in LAUNCHED_NAMES:
        old = entries.get(name)
        # A link to the interpreter, or (when Bazel's cache materialised the tree's links) a copy of it.
        is_link = (
            old is not None
            and old.kind == "symlink"
            and posixpath.basename(posixpath.normpath(posixpath.join("bin", old.target)))
            in (interpreter, "python3")
        )
        is_copy = (
            old is not None
            and old.kind == "file"
            and filecmp.cmp(old.source, real.source, shallow=False)
        )
        if not (is_link or is_copy):
            raise VolumeError(
                f"{name} should be a link to (or a copy of) bin/{interpreter} for the launcher "
                f"to replace, got {old.kind if old else 'nothing'}"
            )
        entries[name] = Entry("file", source=src, executable=True, origin=src)


ELF_MACHINES = {"x86_64": 62, "aarch64": 183}


def check_machine(entries: dict[str, Entry], arch: str) -> None:
    """Every ELF file in the volume must be built for `arch`."""
    want = ELF_MACHINES[arch]
    names = {v: k for k, v in ELF_MACHINES.items()}
    for path, entry in sorted(entries.items()):
        if entry.kind != "file":
            continue
        with open(entry.source, "rb") as f:
            head = f.read(20)
        if len(head) == 20 and head[:4] == b"\x7fELF":
            machine = int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")
            if machine != want:
                raise VolumeError(
                    f"{path} (from {entry.origin}) is an ELF for "
                    f"{names.get(machine, f'machine {machine}')}, not {arch}: "
                    "an input was built or locked for the wrong architecture"
                )


def _tarinfo(path: str, entry: Entry) -> tarfile.TarInfo:
    info = tarfile.TarInfo("./" + path if path != "." else ".")
    info.mtime, info.uid, info.gid, info.uname, info.gname = PORTABLE_MTIME, 0, 0, "", ""
    if entry.kind == "dir":
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    elif entry.kind == "symlink":
        info.type, info.mode, info.linkname = tarfile.SYMTYPE, 0o777, entry.target
    else:
        info.size = os.path.getsize(entry.source)
        info.mode = 0o755 if entry.executable else 0o644
    return info


def write_volume(entries: dict[str, Entry], out: Path, preset: int) -> None:
    """Write the sorted listing as a tar, xz-compressed, to `out`."""
    compressor = lzma.LZMACompressor(format=lzma.FORMAT_XZ, check=lzma.CHECK_CRC64, preset=preset)

    class _XzSink(io.RawIOBase):
        def __init__(self, f):
            self.f = f

        def writable(self):
            return True

        def write(self, data):
            self.f.write(compressor.compress(bytes(data)))
            return len(data)

    with open(out, "wb") as f:
        sink = _XzSink(f)
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            tar.addfile(_tarinfo(".", Entry("dir")))
            for path in sorted(entries, key=lambda p: p.encode()):
                entry = entries[path]
                info = _tarinfo(path, entry)
                if entry.kind == "file":
                    with open(entry.source, "rb") as src:
                        tar.addfile(info, src)
                else:
                    tar.addfile(info)
        f.write(compressor.flush())


def main(argv: list[str]) -> int:
    """Parse arguments (or an @params file) and write the volume."""
    parser = argparse.ArgumentParser(description=__doc__, fromfile_prefix_chars="@")
    parser.add_argument("--out", type=Path, required=True, help="the .tar.xz to write")
    parser.add_argument(
        "--tree",
        type=Path,
        action="append",
        default=[],
        help="a directory whose contents go to the volume root",
    )
    parser.add_argument(
        "--file",
        action="append",
        default=[],
        metavar="SRC=DEST[:MODE]",
        help="a single file at DEST; MODE 'x' makes it executable",
    )
    parser.add_argument("--dir", action="append", default=[], help="an empty directory to create")
    parser.add_argument(
        "--python-launcher",
        metavar="SRC=INTERPRETER",
        help="a launcher that becomes bin/python and bin/python3 (the tree's links to "
        "bin/INTERPRETER, which it runs)",
    )
    parser.add_argument(
        "--arch",
        choices=sorted(ELF_MACHINES),
        required=True,
        help="the volume's architecture: every ELF inside must match",
    )
    parser.add_argument("--xz-preset", type=int, default=6, help="xz preset level 0-9")
    args = parser.parse_args(argv)
    entries: dict[str, Entry] = {}
    try:
        for tree in args.tree:
            add_tree(entries, tree)
        for spec in args.file:
            src, _, dest = spec.partition("=")
            dest, _, mode = dest.partition(":")
            if not os.path.isfile(src):
                raise VolumeError(f"{src} (for {dest}) is not a file")
            _add(entries, dest, Entry("file", source=src, executable=mode == "x", origin=src))
        for d in args.dir:
            _add(entries, d, Entry("dir", origin="--dir"))
        if args.python_launcher:
            replace_with_launcher(entries, args.python_launcher)
        check_links(entries)
        check_machine(entries, args.arch)
        write_volume(entries, args.out, args.xz_preset)
    except VolumeError as err:
        print(f"build_volume: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
