"""Translate pyzmq's Cython backend to C, on the exec side.

Runs Cython (from the pinned pure-Python wheel this tool depends on) in the
sdist's root, with paths relative to it, so the C file names no build path:

    cythonize.py --source-root DIR --module zmq.backend.cython._zmq \\
        --input zmq/backend/cython/_zmq.py --output OUT.c

It is what pyzmq's own CMakeLists.txt runs (`python -m cython --module-name ...`),
once for every target: the C output is the same for all of them.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    """Parse arguments and run Cython in the source root; returns its exit code."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--source-root", type=Path, required=True, help="the sdist's root (where pyproject.toml is)"
    )
    p.add_argument("--module", required=True, help="the extension's full module name")
    p.add_argument("--input", required=True, help="the Cython source, relative to --source-root")
    p.add_argument("--output", type=Path, required=True, help="the C file to write")
    args = p.parse_args(argv)
    out = args.output.absolute()
    # Cython is importable here (runfiles); the child gets the same path.
    env = dict(
        os.environ,
        PYTHONPATH=os.pathsep.join(p for p in sys.path if p),
        PYTHONHASHSEED="0",
        SOURCE_DATE_EPOCH="315532800",
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "cython",
            "--output-file",
            str(out),
            "--module-name",
            args.module,
            args.input,
        ],
        cwd=os.path.realpath(args.source_root),
        env=env,
    )
    if proc.returncode != 0:
        print(f"cythonize: Cython failed on {args.input} (exit {proc.returncode})", file=sys.stderr)
        return proc.returncode
    text = out.read_text()
    if str(Path(os.path.realpath(args.source_root))) in text or os.getcwd() in text:
        print(f"cythonize: {out.name} names a build path", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
