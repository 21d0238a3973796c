"""buildifier 8.2.1 (pinned) finds every Starlark file formatted and free of lint warnings.

The planted-mistake tests run the same binary and flags on a scratch copy of real
files of the tree: clean, it passes; with one mistake planted, it must fail and
name the file, so the workspace checks above cannot pass vacuously.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_tools import buildifier_format, buildifier_lint, report, scratch_copy, tool, workspace

ROOT = workspace()
# Real files to copy: a BUILD file and a .bzl with functions and docstrings.
SAMPLES = ["tests/lint/BUILD.bazel", "third_party/python/simple_index.bzl"]


@pytest.fixture
def buildifier(tmp_path: Path) -> Path:
    return tool("BUILDIFIER", tmp_path)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return scratch_copy(ROOT, SAMPLES, tmp_path / "scratch")


def test_every_starlark_file_is_formatted(buildifier):
    proc = buildifier_format(buildifier, ROOT)
    assert proc.returncode == 0, "run tools/bazel run //tools/lint:buildifier -- -r .\n" + report(
        proc
    )


def test_every_starlark_file_is_free_of_lint_warnings(buildifier):
    proc = buildifier_lint(buildifier, ROOT)
    assert proc.returncode == 0, report(proc)


def test_the_clean_scratch_copy_passes(buildifier, scratch):
    assert buildifier_format(buildifier, scratch).returncode == 0
    assert buildifier_lint(buildifier, scratch).returncode == 0


def test_a_planted_misformat_fails(buildifier, scratch):
    build = scratch / "tests/lint/BUILD.bazel"
    build.write_text(build.read_text().replace('    name = "', '  name  =  "', 1))
    proc = buildifier_format(buildifier, scratch)
    assert proc.returncode != 0 and "tests/lint/BUILD.bazel" in proc.stdout + proc.stderr


def test_a_planted_lint_warning_fails(buildifier, scratch):
    bzl = scratch / "third_party/python/simple_index.bzl"
    bzl.write_text(bzl.read_text() + "\ndef public_macro():\n    native.filegroup(name = 'x')\n")
    proc = buildifier_lint(buildifier, scratch)
    assert proc.returncode != 0
    assert "unnamed-macro" in proc.stdout + proc.stderr, report(proc)
