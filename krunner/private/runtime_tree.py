"""Copy a CPython install (pbs, or a substitute) into a volume-root directory.

What goes into a volume is the interpreter and its standard library: pip, any
installed packages, console scripts and a substitute volume's own additions
(ttyd, licenses/) are removed, so both kinds of runtime come out alike and the
packages layer is the only source of site-packages. Symlinks and exec bits are
kept. `bin/python` is added as a link to `python3` when missing. The provenance
file gains the CPython version found (include/pythonX.Y/patchlevel.h) and what
was removed.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
from pathlib import Path

KEEP_BIN = re.compile(r"^(python|idle|pydoc|2to3)[\w.\-]*$")
REPO_FILES = {"BUILD.bazel", "REPO.bazel", "WORKSPACE", "WORKSPACE.bazel", "PROVENANCE.json"}


class RuntimeError_(Exception):
    """The runtime is not the one expected; the message says how."""


def removed_reason(rel: str, python: str) -> str | None:
    """Why `rel` is left out of the volume, or None to keep it."""
    parts = rel.split("/")
    if rel in REPO_FILES or parts[0] in ("_wheel", "licenses"):
        return "repository file" if rel in REPO_FILES or parts[0] == "_wheel" else "volume additions (licenses/)"
    if parts[0] == "bin" and len(parts) == 2 and not KEEP_BIN.match(parts[1]):
        return "scripts and binaries other than CPython's (pip, console scripts, ttyd)"
    site = f"lib/python{python}/site-packages/"
    if rel.startswith(site) and rel != site + "README.txt":
        return "site-packages (pip and installed packages)"
    return None


def copy_runtime(src: Path, dest: Path, python: str) -> dict[str, int]:
    """Copy the kept files of `src` into `dest`; returns counts of what was removed, by reason."""
    if not (src / f"lib/python{python}").is_dir():
        found = sorted(p.name for p in (src / "lib").glob("python3.*")) if (src / "lib").is_dir() else []
        raise RuntimeError_(f"{src} has no lib/python{python} (found {found}): not a CPython {python} runtime")
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


def main(argv: list[str]) -> int:
    """Parse arguments, copy the runtime, write its provenance."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--provenance", type=Path, required=True,
                   help="the repository's PROVENANCE.json (its directory is the runtime root)")
    p.add_argument("--python", required=True, help="X.Y the runtime must be")
    p.add_argument("--out-dir", type=Path, required=True, help="the directory to fill")
    p.add_argument("--out-provenance", type=Path, required=True, help="where to write the provenance")
    args = p.parse_args(argv)
    # The repository's files are declared inputs; their real directory keeps the symlinks.
    src = Path(os.path.realpath(args.provenance)).parent
    try:
        removed = copy_runtime(src, args.out_dir, args.python)
    except RuntimeError_ as err:
        print(f"runtime_tree: error: {err}", file=sys.stderr)
        return 1
    prov = json.loads(args.provenance.read_text())
    prov["python_version"] = python_version(args.out_dir, args.python)
    prov["removed"] = dict(sorted(removed.items()))
    args.out_provenance.write_text(json.dumps(prov, indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
