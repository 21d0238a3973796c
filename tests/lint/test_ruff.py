"""ruff 0.17.6 (pinned) finds every Python file clean (`ruff check`) and formatted.

The settings are the workspace's ruff.toml. The planted-mistake tests run the same
binary on a scratch copy of real files with that ruff.toml: clean, it passes; with
one mistake planted, it must fail and name the rule.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lint_tools import report, ruff_check, ruff_format, scratch_copy, tool, workspace

ROOT = workspace()
SAMPLES = ["ruff.toml", "tests/lint/lint_tools.py", "tools/lock_sid_root"]


@pytest.fixture
def ruff(tmp_path: Path) -> Path:
    return tool("RUFF", tmp_path)


@pytest.fixture
def scratch(tmp_path: Path) -> Path:
    return scratch_copy(ROOT, SAMPLES, tmp_path / "scratch")


def test_every_python_file_passes_ruff_check(ruff):
    proc = ruff_check(ruff, ROOT)
    assert proc.returncode == 0, report(proc)


def test_every_python_file_is_formatted(ruff):
    proc = ruff_format(ruff, ROOT)
    assert proc.returncode == 0, "run tools/bazel run //tools/lint:ruff -- format .\n" + report(
        proc
    )


def test_the_extensionless_tools_are_checked(ruff, scratch):
    """tools/lock_sid_root has no .py suffix: ruff.toml's extend-include must reach it."""
    tool_file = scratch / "tools/lock_sid_root"
    tool_file.write_text(tool_file.read_text() + "\nimport os\n")
    proc = ruff_check(ruff, scratch)
    assert proc.returncode != 0 and "tools/lock_sid_root" in proc.stdout, report(proc)


def test_the_clean_scratch_copy_passes(ruff, scratch):
    assert ruff_check(ruff, scratch).returncode == 0, report(ruff_check(ruff, scratch))
    assert ruff_format(ruff, scratch).returncode == 0, report(ruff_format(ruff, scratch))


def test_a_planted_unused_import_fails(ruff, scratch):
    module = scratch / "tests/lint/lint_tools.py"
    module.write_text(module.read_text().replace("import os\n", "import os\nimport json\n", 1))
    proc = ruff_check(ruff, scratch)
    assert proc.returncode != 0 and "F401" in proc.stdout, report(proc)


def test_a_planted_closure_over_a_loop_variable_fails(ruff, scratch):
    module = scratch / "tests/lint/lint_tools.py"
    module.write_text(
        module.read_text()
        + "\n\ndef _callbacks(names):\n"
        + "    out = []\n"
        + "    for name in names:\n"
        + "        out.append(lambda: name)\n"
        + "    return out\n"
    )
    proc = ruff_check(ruff, scratch)
    assert proc.returncode != 0 and "B023" in proc.stdout, report(proc)


def test_a_planted_misformat_fails(ruff, scratch):
    module = scratch / "tests/lint/lint_tools.py"
    module.write_text(
        module.read_text().replace("def workspace() -> Path:", "def workspace( )->Path :")
    )
    proc = ruff_format(ruff, scratch)
    assert proc.returncode != 0 and "lint_tools.py" in proc.stdout + proc.stderr, report(proc)
