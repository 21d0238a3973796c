"""Runs a pinned lint tool on the caller's files (`tools/bazel run //tools/lint:<tool> -- ARGS`).

`bazel run` starts a binary in its runfiles tree; the files to lint are named
relative to where it was called, so the tool runs there.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
from pathlib import Path


def main() -> int:
    """Exec the tool (runfiles path in argv[1]) with the remaining arguments."""
    tool = Path(os.path.realpath(sys.argv[1]))
    where = os.environ.get("BUILD_WORKING_DIRECTORY")
    if not where:
        print(
            f"{tool.name}: run it with tools/bazel run //tools/lint:<tool> -- ARGS", file=sys.stderr
        )
        return 2
    if not os.access(tool, os.X_OK):  # a wheel's zip may not carry the mode bits
        copy = Path(tempfile.mkdtemp(prefix="lint-")) / tool.name
        shutil.copy(tool, copy)
        copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
        tool = copy
    os.chdir(where)
    os.execv(tool, [tool.name, *sys.argv[2:]])


if __name__ == "__main__":
    sys.exit(main())
