"""actionlint finds nothing in .github/workflows/{ci,release}.yml, and does find a broken copy's mistakes.

The second test is what makes the first one mean something: the same binary,
flags and output parsing must report each mistake planted in a copy of the
real workflow, at the line where it was planted.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"])
WORKFLOWS = {
    "ci.yml": RUNFILES / os.environ["WORKFLOW"],
    "release.yml": RUNFILES / os.environ["RELEASE_WORKFLOW"],
}

# Mistakes planted in a copy of each workflow: (text in the real workflow, its
# broken replacement, the actionlint check that must report it).
BREAKAGES = {
    "ci.yml": [
        ("group: ci-${{ github.ref }}", "group: ci-${{ github.nosuch_ref }}", "expression"),
        ("timeout-minutes: 90", "timeout-minutes: ninety", "syntax-check"),
        ("runs-on: ubuntu-24.04", "runs-on: ubuntu-24.04-nosuch", "runner-label"),
    ],
    "release.yml": [
        (
            "group: release-${{ github.ref }}",
            "group: release-${{ github.nosuch_ref }}",
            "expression",
        ),
        ("id-token: write #", "id-token: publish #", "permissions"),
        ("timeout-minutes: 120", "timeout-minutes: long", "syntax-check"),
        ("attestations: true", "attestationz: true", "action"),
    ],
}


def actionlint_binary(tmp_path: Path) -> Path:
    """The pinned binary, executable (a wheel's zip may not carry the mode bits)."""
    src = RUNFILES / os.environ["ACTIONLINT"]
    if os.access(src, os.X_OK):
        return src
    copy = tmp_path / "actionlint"
    shutil.copy(src, copy)
    copy.chmod(copy.stat().st_mode | stat.S_IXUSR)
    return copy


def findings(binary: Path, workflow: Path) -> list[dict]:
    """actionlint's findings for `workflow`, as JSON objects (message, line, kind, ...).

    ShellCheck and pyflakes integration is off, so the result does not depend on
    what happens to be installed.
    """
    proc = subprocess.run(
        [
            str(binary),
            "-no-color",
            "-shellcheck=",
            "-pyflakes=",
            "-format",
            "{{json .}}",
            str(workflow),
        ],
        capture_output=True,
        text=True,
        cwd=workflow.parent,
    )
    assert proc.returncode in (0, 1), f"actionlint failed to run ({proc.returncode}): {proc.stderr}"
    found = json.loads(proc.stdout or "[]")
    assert (proc.returncode == 1) == bool(found), (proc.returncode, proc.stdout, proc.stderr)
    return found


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_workflow_has_no_findings(tmp_path, name):
    workflow = WORKFLOWS[name]
    found = findings(actionlint_binary(tmp_path), workflow)
    assert found == [], "actionlint: " + "\n".join(
        f"{workflow.name}:{f['line']}:{f['column']}: {f['message']} [{f['kind']}]" for f in found
    )


def test_release_workflow_publishes_by_trusted_publishing_with_attestations():
    """A tag starts it; PyPI trusts its OIDC token (no stored token) and gets attestations."""
    text = WORKFLOWS["release.yml"].read_text()
    assert re.search(r"^on:\n  push:\n    tags: ", text, re.M)
    assert re.search(r"^      id-token: write\b", text, re.M)
    assert re.search(
        r"uses: pypa/gh-action-pypi-publish@\S+\n        with:\n(          .*\n)*          attestations: true\n",
        text,
    )
    assert "password:" not in text and "PYPI_API_TOKEN" not in text and "secrets.PYPI" not in text
    assert "tools/release --out dist --flag=--config=ci" in text


@pytest.mark.parametrize("name", sorted(WORKFLOWS))
def test_broken_copy_is_reported_at_each_planted_mistake(tmp_path, name):
    text = WORKFLOWS[name].read_text()
    lines = {}
    for old, new, _ in BREAKAGES[name]:
        assert text.count(old) == 1, f"{old!r} should occur once in the workflow; update BREAKAGES"
        lines[new] = text[: text.index(old)].count("\n") + 1
        text = text.replace(old, new)
    broken = tmp_path / ".github" / "workflows" / name
    broken.parent.mkdir(parents=True)
    broken.write_text(text)
    found = findings(actionlint_binary(tmp_path), broken)
    for _, new, kind in BREAKAGES[name]:
        assert any(f["line"] == lines[new] and f["kind"] == kind for f in found), (
            f"no {kind} finding at line {lines[new]} ({new!r}); actionlint said: {found}"
        )
