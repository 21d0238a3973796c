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
# {member stem: runfiles path of the binary built here}: the wheel's replacement map
REPLACED = {
    f"{stem}.x86_64.bin": RUNFILES / path
    for stem, path in json.loads((RUNFILES / os.environ["REPLACED"]).read_text()).items()
}


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
    assert REPLACED
    for name, binary in REPLACED.items():
        m = members[name]
        assert m["origin"] == "ours" and m["component"] and m["version"]
        assert m["bytes"] == binary.stat().st_size
        assert m["kind"] in ("ELF x86_64 static, stripped", "ELF x86_64 static-pie, stripped")
    assert {m["origin"] for n, m in members.items() if n not in REPLACED} == {"upstream"}
    assert members["libbaihook.ubuntu22.04.x86_64.so"]["kind"].startswith(
        "ELF x86_64 shared object"
    )
    text = krunner("inspect", str(OURS))
    assert text.returncode == 0
    for name in REPLACED:
        m = members[name]
        assert f"ours: {m['component']} {m['version']}" in text.stdout


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
    changed = {m["name"]: m for m in data["members"] if m["state"] != "same"}
    assert sorted(changed) == sorted(REPLACED)
    for name, binary in REPLACED.items():
        assert changed[name]["b_bytes"] == binary.stat().st_size
        assert (changed[name]["a_origin"], changed[name]["b_origin"]) == ("upstream", "ours")
    assert data["counts"]["added"] == data["counts"]["removed"] == 0
    text = krunner("compare", str(UPSTREAM), str(OURS))
    assert text.returncode == 0 and f"{len(REPLACED)} changed" in text.stdout
