"""The agent's own krunner look-ups find our wheels: a 23.09 agent and a current one.

Both wheels of one arch are installed by pip, as on an agent host, and
agent_code.py runs the agent's `prepare_krunner_env` and, for an Ubuntu and an
Alpine image, its `get_krunner_info`, compiled from the pinned backend.ai-agent
wheels. The Python version it reads decides where the agent bind-mounts its
`ai/backend/kernel`, so that directory must be in the volume it would extract.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import agent_probe
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


@pytest.fixture(scope="module")
def setuptools_path(tmp_path_factory) -> str:
    return agent_probe.setuptools_copy(tmp_path_factory.mktemp("setuptools"))


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
    out = agent_probe.probe(PROBE, AGENTS[agent], arch, target, setuptools_path)

    expected = {
        key: f"backendai-krunner.v{VOLUME_VERSIONS[key]}.{arch}.{key}" for key in VOLUME_VERSIONS
    }
    assert out["volumes"] == expected  # prepare_krunner_env: one volume per key
    archives = {run["env"][0]: run["archive"] for run in out["extractions"]}
    assert sorted(archives) == sorted(f"KRUNNER_VERSION={v}" for v in VOLUME_VERSIONS.values())

    for label, key in agent_probe.IMAGES.items():
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
