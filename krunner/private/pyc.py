"""Byte-compile a directory tree into unchecked-hash .pyc files for CPython 3.13.

A volume's files all carry one fixed mtime, which makes timestamp-based .pyc
files stale (`python -v`: "bytecode is stale"), and the volume is mounted
read-only, so they would be compiled again at every start and never cached.
Unchecked-hash .pycs are used as they are. The compiler is the build's own
python3.13 (the sid root's): .pyc files are portable across platforms of the
same CPython minor version, which the magic number proves.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

COMPILE = r"""
import importlib.util, os, py_compile, sys
root, final = sys.argv[1], sys.argv[2]
print(importlib.util.MAGIC_NUMBER.hex())
failed = []
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(filenames):
        if name.endswith(".py"):
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            try:
                py_compile.compile(path, dfile=os.path.join(final, rel), doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                failed.append(rel)
print("\n".join(failed))
"""
MAGIC_3_13 = "f30d0d0a"


class PycError(Exception):
    """The compiler could not run, or writes bytecode for another CPython."""


def compile_tree(compiler: str, root: Path, final: str) -> list[str]:
    """Compiles every .py under `root` as if it lived at `final`; returns the paths that failed."""
    proc = subprocess.run(
        [compiler, "-c", COMPILE, str(root), final], capture_output=True, text=True
    )
    if proc.returncode != 0:
        raise PycError(f"byte-compiling with {compiler} failed: {proc.stderr.strip()}")
    magic, *failed = proc.stdout.splitlines()
    if magic != MAGIC_3_13:
        raise PycError(f"{compiler} writes pyc magic {magic}, not CPython 3.13's {MAGIC_3_13}")
    return [f for f in failed if f]
