"""The agent's own krunner look-ups find our wheels: a 23.09 agent and a current one.

Both wheels of one arch are installed by pip, as on an agent host, and
agent_code.py runs the agent's `prepare_krunner_env` and, for an Ubuntu and an
Alpine image, its `get_krunner_info`, compiled from the pinned backend.ai-agent
wheels. The Python version it reads decides where the agent bind-mounts its
`ai/backend/kernel`, so that directory must be in the volume it would extract.
"""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"])
WHEELS = [RUNFILES / p for p in os.environ["WHEELS"].split()]
PIP_PATH = str((RUNFILES / os.environ["PIP_INIT"]).parent.parent)
AGENTS = {
    name: (RUNFILES / path).parents[3]
    for name, path in (item.split("=", 1) for item in os.environ["AGENTS"].split())
}  # .../ai/backend/agent/agent.py
PROBE = RUNFILES / os.environ["AGENT_CODE"]
VOLUME_VERSIONS = dict(item.split("=") for item in os.environ["VOLUME_VERSIONS"].split())
PYTHON_VERSION = os.environ["PYTHON_VERSION"]
# pkg_resources for the 23.9 agent, from the pinned setuptools (found, not imported).
SETUPTOOLS_REPO = Path(importlib.util.find_spec("pkg_resources").origin).parent.parent


@pytest.fixture(scope="module")
def setuptools_path(tmp_path_factory) -> str:
    """A copy of the setuptools repo with the one file runfiles leave out: Bazel drops names with spaces,
    and pkg_resources' vendored jaraco.text reads its sample `Lorem ipsum.txt` when imported."""
    dest = tmp_path_factory.mktemp("setuptools")
    for name in ("pkg_resources", "setuptools"):
        shutil.copytree(SETUPTOOLS_REPO / name, dest / name, symlinks=False)
    lorem = dest / "setuptools/_vendor/jaraco/text/Lorem ipsum.txt"
    if not lorem.exists():
        lorem.write_text("Lorem ipsum dolor sit amet.\n")
    return str(dest)


# Image base-distro labels and the key match_distro_data must pick for them.
IMAGES = {"ubuntu22.04": "static-gnu", "centos7.6": "static-gnu", "alpine3.21": "static-musl"}


def install(arch: str, target: Path) -> None:
    """Both wheels of `arch` into one site directory, chosen by pip by platform."""
    wheels = [str(w) for w in WHEELS if f"_{arch}." in w.name]
    assert len(wheels) == 2, wheels
    env = {
        "PYTHONPATH": PIP_PATH,
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "HOME": os.environ["TEST_TMPDIR"],
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--only-binary=:all:",
            "--platform",
            f"manylinux2014_{arch}",
            "--platform",
            f"musllinux_1_2_{arch}",
            "--target",
            str(target),
            *wheels,
        ],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr


@functools.lru_cache(maxsize=None)  # each volume is read once, not once per agent and image
def kernel_mount_point_in(archive: str, pyver: str) -> bool:
    want = f"./lib/python{pyver}/site-packages/ai/backend/kernel"
    with tarfile.open(archive, "r:xz") as tf:
        for member in tf:
            if member.name.rstrip("/") == want:
                return member.isdir()
    return False


@pytest.fixture(scope="module", params=["x86_64", "aarch64"])
def site(request, tmp_path_factory):
    target = tmp_path_factory.mktemp(f"site-{request.param}")
    install(request.param, target)
    return request.param, target


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_agent_finds_volumes_and_python(site, agent, setuptools_path):
    arch, target = site
    env = {
        "PYTHONPATH": os.pathsep.join([str(target), setuptools_path]),
        "PATH": "/usr/bin:/bin",
        "PYTHONWARNINGS": "ignore::DeprecationWarning,ignore::UserWarning",
    }
    proc = subprocess.run(
        [sys.executable, str(PROBE), str(AGENTS[agent]), arch, *IMAGES],
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)

    expected = {
        key: f"backendai-krunner.v{VOLUME_VERSIONS[key]}.{arch}.{key}" for key in VOLUME_VERSIONS
    }
    assert out["volumes"] == expected, proc.stderr  # prepare_krunner_env: one volume per key
    archives = {run["env"][0]: run["archive"] for run in out["extractions"]}
    assert sorted(archives) == sorted(f"KRUNNER_VERSION={v}" for v in VOLUME_VERSIONS.values())

    for label, key in IMAGES.items():
        info = out["info"][label]
        # before the fix, alpine: {"error": "ModuleNotFoundError: No module named 'ai.backend.krunner.static_musl'"}
        assert "error" not in info, f"{agent} agent, {label} image: {info['error']}"
        assert info == {
            "arch": arch,
            "distro": key,
            "libc": "musl" if key == "static-musl" else "glibc",
            "volume": expected[key],
            "python": PYTHON_VERSION,
        }
        # where the agent bind-mounts ai/backend/kernel for this Python version
        archive = archives[f"KRUNNER_VERSION={VOLUME_VERSIONS[key]}"]
        assert kernel_mount_point_in(archive, info["python"]), (
            f"{archive}: no lib/python{info['python']}/site-packages/ai/backend/kernel/ for the agent's mount"
        )
