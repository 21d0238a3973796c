"""tools/krunner inspect/compare on the built drop-in backend.ai-kernel-binary wheel and upstream's.

inspect names every member with its size and origin (the replaced ones ours, from
the SBOM, the rest upstream's); compare against upstream's wheel file shows
exactly the replaced members changed, with both sizes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

RUNFILES = Path(os.environ["TEST_SRCDIR"])
KRUNNER = RUNFILES / os.environ["TEST_WORKSPACE"] / "tools/krunner"
OURS = RUNFILES / os.environ["WHEEL"]
UPSTREAM = RUNFILES / os.environ["UPSTREAM"]
TTYD = RUNFILES / os.environ["TTYD"]


def krunner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(KRUNNER), *args],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": os.pathsep.join(sys.path), "PATH": "/usr/bin:/bin"},
    )


def test_inspect_shows_ours_and_upstreams():
    proc = krunner("inspect", "--json", str(OURS))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["version"] == "26.9.6+krunner.1" and data["sbom"] is True
    members = {m["name"]: m for m in data["members"]}
    with zipfile.ZipFile(OURS) as zf:
        runner = [n for n in zf.namelist() if n.startswith("ai/backend/runner/")]
    assert len(members) == len(runner)
    ttyd = members["ttyd_linux.x86_64.bin"]
    assert ttyd["origin"] == "ours" and ttyd["component"] == "ttyd"
    assert ttyd["bytes"] == TTYD.stat().st_size
    assert ttyd["kind"] == "ELF x86_64 static, stripped"
    assert {m["origin"] for n, m in members.items() if n != "ttyd_linux.x86_64.bin"} == {"upstream"}
    assert members["libbaihook.ubuntu22.04.x86_64.so"]["kind"].startswith(
        "ELF x86_64 shared object"
    )
    text = krunner("inspect", str(OURS))
    assert text.returncode == 0 and "ours: ttyd 1.7.7" in text.stdout


def test_inspect_upstreams_wheel_has_no_ours():
    proc = krunner("inspect", "--json", str(UPSTREAM))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["sbom"] is False and data["ours_bytes"] == 0
    assert "su-exec.x86_64.bin" in {m["name"] for m in data["members"]}


def test_compare_with_upstream():
    proc = krunner("compare", "--json", str(UPSTREAM), str(OURS))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    changed = [m for m in data["members"] if m["state"] != "same"]
    assert [m["name"] for m in changed] == ["ttyd_linux.x86_64.bin"]
    assert changed[0]["b_bytes"] == TTYD.stat().st_size
    assert (changed[0]["a_origin"], changed[0]["b_origin"]) == ("upstream", "ours")
    assert data["counts"]["added"] == data["counts"]["removed"] == 0
    text = krunner("compare", str(UPSTREAM), str(OURS))
    assert text.returncode == 0 and "1 changed" in text.stdout
