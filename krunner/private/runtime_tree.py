"""Copy a CPython install (built from source, or pbs) into a volume-root directory.

What goes into a volume is the interpreter and the part of its standard library
a kernel runner can use: pip, installed packages and console scripts are
removed (the packages layer is the only source of site-packages), and so are
CPython's test suite, IDLE, tkinter (and turtle), ensurepip, help()'s topic texts,
headers, static libraries and the build configuration directory, which nothing in a
container uses. Symlinks and exec bits are kept. `bin/python` is added as a link to `python3` when
missing, since the agent starts /opt/backend.ai/bin/python. Every module is then
byte-compiled into an unchecked-hash .pyc (pyc.py), which stays valid under the
volume's fixed mtimes. The provenance file gains the CPython version found
(include/pythonX.Y/patchlevel.h) and what was removed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

# pyc.py sits beside this file wherever it runs (runfiles, a test's copy); Python
# puts the *resolved* script directory on sys.path, which need not hold it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pyc  # noqa: E402

KEEP_BIN = re.compile(r"^python3?(\.\d+)?$")
REPO_FILES = {"BUILD.bazel", "REPO.bazel", "WORKSPACE", "WORKSPACE.bazel", "PROVENANCE.json"}
# Standard-library parts a runner never imports (and their extension modules).
# pydoc_data holds only help()'s topic texts (1.1 MB); pydoc says so when it is
# missing. turtle.py imports tkinter, which is left out.
UNUSED_STDLIB = {
    "test",
    "idlelib",
    "tkinter",
    "turtle.py",
    "turtledemo",
    "ensurepip",
    "lib2to3",
    "__phello__",
    "pydoc_data",
}
UNUSED_EXTENSION = re.compile(
    r"^(_tkinter|_test\w*|_ctypes_test|_xxtestfuzz|xxlimited\w*|xxsubtype|_xxsubinterpreters)[.]"
)


class RuntimeError_(Exception):
    """The runtime is not the one expected; the message says how."""


def removed_reason(rel: str, python: str) -> str | None:
    """Why `rel` is left out of the volume, or None to keep it."""
    parts = rel.split("/")
    if rel in REPO_FILES or parts[0] in ("_wheel", "licenses"):
        return (
            "repository file"
            if rel in REPO_FILES or parts[0] == "_wheel"
            else "volume additions (licenses/)"
        )
    if parts[0] == "bin" and len(parts) == 2 and not KEEP_BIN.match(parts[1]):
        return "scripts and binaries other than the interpreter (pip, idle, pydoc, python-config, ttyd)"
    if parts[0] in ("include", "share") or (
        parts[0] == "lib" and len(parts) == 2 and parts[1] == "pkgconfig"
    ):
        return "headers, manual pages and pkg-config files"
    if parts[0] == "lib" and len(parts) == 2 and parts[1].endswith(".a"):
        return "static libraries"
    stdlib = f"lib/python{python}/"
    site = stdlib + "site-packages/"
    if rel.startswith(site) and rel != site + "README.txt":
        return "site-packages (pip and installed packages)"
    if rel.startswith(stdlib):
        sub = rel[len(stdlib) :].split("/")
        if sub[0] in UNUSED_STDLIB or sub[0].startswith("config-"):
            return "test suite, IDLE, tkinter, ensurepip, help() topics and the build configuration"
        if "__pycache__" in sub:
            return "timestamp-based .pyc files (compiled again as unchecked-hash)"
        if sub[0] == "lib-dynload" and len(sub) == 2 and UNUSED_EXTENSION.match(sub[1]):
            return "test and tkinter extension modules"
    return None


def _unstaged(path: Path, rel: str) -> Path:
    """The real entry behind a sandbox's staging of a tree-artifact input.

    A sandbox stages each entry of an input directory as an absolute symlink to the
    same relative path in the real output tree; one hop reaches the entry itself, so
    a symlink the tree really has (bin/python3 -> python3.13) stays relative.
    """
    if path.is_symlink():
        link = os.readlink(path)
        if os.path.isabs(link) and link.endswith("/" + rel) and os.path.lexists(link):
            return Path(link)
    return path


def copy_runtime(src: Path, dest: Path, python: str) -> dict[str, int]:
    """Copy the kept files of `src` into `dest`; returns counts of what was removed, by reason."""
    if not (src / f"lib/python{python}").is_dir():
        found = (
            sorted(p.name for p in (src / "lib").glob("python3.*"))
            if (src / "lib").is_dir()
            else []
        )
        raise RuntimeError_(
            f"{src} has no lib/python{python} (found {found}): not a CPython {python} runtime"
        )
    removed: dict[str, int] = {}
    for dirpath, dirnames, filenames in os.walk(src):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            full = Path(dirpath) / name
            rel = full.relative_to(src).as_posix()
            reason = removed_reason(rel, python)
            if reason:
                removed[reason] = removed.get(reason, 0) + 1
                if full.is_dir() and not full.is_symlink():
                    dirnames.remove(name)
                continue
            target = dest / rel
            full = _unstaged(full, rel)
            if full.is_symlink():
                target.symlink_to(os.readlink(full))
            elif full.is_dir():
                target.mkdir()
            else:
                shutil.copyfile(full, target)
                target.chmod(0o755 if os.stat(full).st_mode & 0o111 else 0o644)
    if not (dest / "bin/python3").exists():
        raise RuntimeError_(f"{src} has no bin/python3")
    if not os.path.lexists(dest / "bin/python"):
        (dest / "bin/python").symlink_to("python3")
    return removed


def python_version(root: Path, python: str) -> str:
    """The full CPython version (e.g. 3.13.15) from patchlevel.h, or X.Y if absent."""
    header = root / f"include/python{python}/patchlevel.h"
    if header.is_file():
        m = re.search(r'#define\s+PY_VERSION\s+"([^"]+)"', header.read_text())
        if m:
            return m.group(1)
    return python


def source_provenance(components: list[str]) -> dict:
    """The provenance of a runtime built from source: CPython's archive, and each library's."""
    by_name = {}
    for spec in components:
        name, path = spec.split("=", 1)
        by_name[name] = json.loads(Path(path).read_text())
    if "cpython" not in by_name:
        raise RuntimeError_(
            "a runtime built from source needs --component cpython=<its PROVENANCE.json>"
        )
    prov = dict(by_name.pop("cpython"))
    prov["built_from_source"] = True
    prov["components"] = dict(sorted(by_name.items()))
    return prov


def main(argv: list[str]) -> int:
    """Parse arguments, copy the runtime, byte-compile it, write its provenance."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--provenance",
        type=Path,
        help="a prebuilt runtime: its repository's PROVENANCE.json (its directory is the runtime root)",
    )
    which.add_argument(
        "--tree", type=Path, help="a runtime built from source: its install directory"
    )
    p.add_argument(
        "--component",
        action="append",
        default=[],
        metavar="NAME=PROVENANCE.json",
        help="with --tree: the provenance of CPython's archive (name cpython) and of each library built in",
    )
    p.add_argument("--python", required=True, help="X.Y the runtime must be")
    p.add_argument(
        "--compiler", required=True, help="the python3.13 that byte-compiles the standard library"
    )
    p.add_argument("--out-dir", type=Path, required=True, help="the directory to fill")
    p.add_argument(
        "--out-provenance", type=Path, required=True, help="where to write the provenance"
    )
    args = p.parse_args(argv)
    try:
        if args.tree:
            src = args.tree
            prov = source_provenance(args.component)
        else:
            # The repository's files are declared inputs; their real directory keeps the symlinks.
            src = Path(os.path.realpath(args.provenance)).parent
            prov = json.loads(args.provenance.read_text())
        version = python_version(src, args.python)
        removed = copy_runtime(src, args.out_dir, args.python)
        stdlib = f"lib/python{args.python}"
        failed = pyc.compile_tree(args.compiler, args.out_dir / stdlib, f"/opt/backend.ai/{stdlib}")
        if failed:
            raise RuntimeError_(f"standard-library modules that do not compile: {failed}")
    except (RuntimeError_, pyc.PycError) as err:
        print(f"runtime_tree: error: {err}", file=sys.stderr)
        return 1
    prov["python_version"] = version
    prov["removed"] = dict(sorted(removed.items()))
    args.out_provenance.write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
