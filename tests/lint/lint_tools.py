"""The pinned linters as the lint tests run them, on the workspace or on a scratch copy.

The tests find the real workspace through the runfiles link to MODULE.bazel: the
linters must see every file of the tree, not a declared subset, so these tests
are tagged `external` (never cached) and read the source tree itself.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

RUNFILES = Path(os.environ["TEST_SRCDIR"])


def workspace() -> Path:
    """The source tree these tests check: where the runfiles' MODULE.bazel really is."""
    return Path(os.path.realpath(RUNFILES / os.environ["MODULE_FILE"])).parent


def tool(env_var: str, scratch: Path) -> Path:
    """The pinned binary named by `env_var`, executable (a wheel may drop mode bits)."""
    src = RUNFILES / os.environ[env_var]
    if os.access(src, os.X_OK):
        return src
    copy = scratch / src.name
    shutil.copy(src, copy)
    copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
    return copy


def scratch_copy(root: Path, rels: list[str], dest: Path) -> Path:
    """`dest` holding copies of the files `rels` of `root`, at the same relative paths."""
    for rel in rels:
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(root / rel, dest / rel)
    return dest


def run(argv: list[str | Path], cwd: Path) -> subprocess.CompletedProcess:
    """Runs a linter in `cwd`, with its output kept for the assertion message."""
    return subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, check=False
    )


def buildifier_format(binary: Path, root: Path) -> subprocess.CompletedProcess:
    """Format check of every Starlark file under `root` (BUILD, .bzl, MODULE.bazel)."""
    return run([binary, "-mode=check", "-r", "."], root)


def buildifier_lint(binary: Path, root: Path) -> subprocess.CompletedProcess:
    """buildifier's default lint warnings on every Starlark file under `root`."""
    return run([binary, "-mode=check", "-lint=warn", "-r", "."], root)


def ruff_check(binary: Path, root: Path) -> subprocess.CompletedProcess:
    """`ruff check` of every Python file under `root`, with `root`'s ruff.toml."""
    return run([binary, "check", "--no-cache", "--output-format=concise", "."], root)


def ruff_format(binary: Path, root: Path) -> subprocess.CompletedProcess:
    """`ruff format --check` of every Python file under `root`."""
    return run([binary, "format", "--no-cache", "--check", "."], root)


def report(proc: subprocess.CompletedProcess) -> str:
    """What a failing linter said, for the assertion message."""
    return f"exit {proc.returncode}\n{proc.stdout}{proc.stderr}"
