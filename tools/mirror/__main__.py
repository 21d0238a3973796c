"""Command line for the offline mirror: `python3 tools/mirror {fill,treehash} ...`.

`fill` is what tools/bazel runs by itself when upstream is unreachable; run it by
hand to pre-fill a mirror (for example before going offline). `treehash` prints
the tree hash to pin for a new substitute archive.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.realpath(__file__))))

from mirror import fill as fill_mod  # noqa: E402
from mirror.treehash import TreeError, tree_sha256  # noqa: E402

WORKSPACE = Path(__file__).resolve().parents[2]


def _default_dest() -> Path:
    base = os.environ.get("KRUNNER_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "krunner-bazel"
    )
    return Path(base) / "mirror"


def main(argv: list[str]) -> int:
    """Parse `argv` and run the sub-command; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="tools/mirror",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p_fill = sub.add_parser("fill", help="download and verify every offline source in the lock")
    p_fill.add_argument(
        "--lock",
        type=Path,
        default=WORKSPACE / "third_party/sources.lock.json",
        help="the sources lock (default: %(default)s)",
    )
    p_fill.add_argument(
        "--dest",
        type=Path,
        default=_default_dest(),
        help="the mirror directory (default: %(default)s)",
    )
    p_fill.add_argument(
        "--debian-mirror",
        default=None,
        help="Debian archive base URL (default: from this machine's apt sources)",
    )
    p_tree = sub.add_parser("treehash", help="print the tree hash of an archive")
    p_tree.add_argument("archive", type=Path, help="a tar archive (.tar.gz, .tar.xz, .tar.bz2)")
    p_tree.add_argument("--strip-prefix", default="", help="the archive's top directory")
    args = parser.parse_args(argv)
    try:
        if args.command == "fill":
            layout = fill_mod.fill(args.lock, args.dest, debian_base=args.debian_mirror)
            print(f"distdir: {layout.distdir}\nsubstitutes: {layout.substitutes}")
        else:
            print(tree_sha256(args.archive, args.strip_prefix))
    except (fill_mod.MirrorError, TreeError) as err:
        print(f"tools/mirror: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
