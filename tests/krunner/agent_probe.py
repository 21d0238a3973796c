"""Runs agent_code.py (the agent's own krunner look-ups) on an installed site directory.

Shared by //tests/krunner:agent_lookup_test (wheels installed from the build) and
//tests/release (wheels installed back from a package index).
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

# Image base-distro labels and the key match_distro_data must pick for them.
IMAGES = {"ubuntu22.04": "static-gnu", "centos7.6": "static-gnu", "alpine3.21": "static-musl"}


def setuptools_copy(dest: Path) -> str:
    """A copy of the pinned setuptools (pkg_resources for the 23.9 agent) with the one file
    runfiles leave out: Bazel drops names with spaces, and pkg_resources' vendored
    jaraco.text reads its sample `Lorem ipsum.txt` when imported."""
    repo = Path(importlib.util.find_spec("pkg_resources").origin).parent.parent
    for name in ("pkg_resources", "setuptools"):
        shutil.copytree(repo / name, dest / name, symlinks=False)
    lorem = dest / "setuptools/_vendor/jaraco/text/Lorem ipsum.txt"
    if not lorem.exists():
        lorem.write_text("Lorem ipsum dolor sit amet.\n")
    return str(dest)


def probe(probe_script: Path, agent_root: Path, arch: str, site: Path, setuptools: str) -> dict:
    """agent_code.py's JSON: the volumes prepare_krunner_env names and extracts, and
    get_krunner_info's answer for each of IMAGES, with `site` importable."""
    env = {
        "PYTHONPATH": ":".join([str(site), setuptools]),
        "PATH": "/usr/bin:/bin",
        "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::UserWarning",
    }
    proc = subprocess.run(
        [sys.executable, str(probe_script), str(agent_root), arch, *IMAGES],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)
