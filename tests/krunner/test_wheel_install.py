"""pip installs each wheel where it belongs, and the agent finds what it reads.

The wheel for this machine's arch goes into a fresh venv and is found through
importlib.metadata, as the agent does; every wheel is also installed with pip's
`--platform` selection for its own arch (and refused for the other), which is
how pip picks among the four.
"""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"])
WHEELS = [RUNFILES / p for p in os.environ["WHEELS"].split()]
PIP = RUNFILES / os.environ["PIP_INIT"]  # .../pip/__init__.py inside the extracted pip wheel
PIP_PATH = str(PIP.parent.parent)
HOST_ARCH = {"amd64": "x86_64", "arm64": "aarch64"}.get(
    platform.machine().lower(), platform.machine()
)


def wheel_arch(whl: Path) -> str:
    return "aarch64" if "aarch64" in whl.name else "x86_64"


def pip(python: str, *args: str) -> subprocess.CompletedProcess:
    env = {
        "PYTHONPATH": PIP_PATH,
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "HOME": os.environ["TEST_TMPDIR"],
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    return subprocess.run([python, "-m", "pip", *args], env=env, capture_output=True, text=True)


@pytest.mark.parametrize(
    "whl", [w for w in WHEELS if wheel_arch(w) == HOST_ARCH], ids=lambda w: w.name
)
def test_installs_into_a_venv_and_the_agent_finds_it(tmp_path, whl):
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = str(venv / "bin/python")
    proc = pip(py, "install", "--no-deps", str(whl))
    assert proc.returncode == 0, proc.stderr
    # What the agent does (ai/backend/agent/docker/kernel.py): entry points, then resources.
    probe = textwrap.dedent("""
        import asyncio, importlib.metadata as md, importlib.resources as res, json, platform
        out = {}
        for ep in md.entry_points(group="backendai_krunner_v10"):
            asyncio.run(ep.load().init({}))
            pkg = res.files(f"ai.backend.krunner.{ep.name}")
            distros = pkg.joinpath("versions.txt").read_text().splitlines()
            for d in distros:
                out[d] = {
                    "entry": ep.name,
                    "version": int(pkg.joinpath(f"krunner-version.{d}.txt").read_text()),
                    "python": pkg.joinpath(f"krunner-python.{d}.txt").read_text().strip(),
                    "volumes": sorted(p.name for p in pkg.iterdir() if p.name.startswith("krunner-env.")),
                }
        print(json.dumps(out))
    """)
    found = subprocess.run([py, "-c", probe], capture_output=True, text=True, check=True).stdout
    import json

    found = json.loads(found)
    distro = "static-musl" if "alpine" in whl.name else "static-gnu"
    assert list(found) == [distro]
    entry = found[distro]
    assert entry["entry"] == distro.replace("-", "_")  # the package get_krunner_info reads
    assert entry["version"] > (12 if distro == "static-musl" else 14)  # bumped from upstream's
    assert entry["python"] == "3.13"
    assert entry["volumes"] == [f"krunner-env.{distro}.{HOST_ARCH}.tar.xz"]


@pytest.mark.parametrize("whl", WHEELS, ids=lambda w: w.name)
def test_pip_selects_by_platform(tmp_path, whl):
    arch = wheel_arch(whl)
    other = "x86_64" if arch == "aarch64" else "aarch64"
    libc = "musllinux_1_2" if "alpine" in whl.name else "manylinux2014"
    ok = pip(
        sys.executable,
        "install",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        f"{libc}_{arch}",
        "--target",
        str(tmp_path / "ok"),
        str(whl),
    )
    assert ok.returncode == 0, ok.stderr
    wrong = pip(
        sys.executable,
        "install",
        "--no-deps",
        "--only-binary=:all:",
        "--platform",
        f"{libc}_{other}",
        "--target",
        str(tmp_path / "wrong"),
        str(whl),
    )
    assert wrong.returncode != 0 and "is not a supported wheel on this platform" in wrong.stderr


@pytest.mark.parametrize("whl", WHEELS, ids=lambda w: w.name)
def test_wheel_passes_pip_record_check(whl):
    with zipfile.ZipFile(whl) as zf:
        assert zf.testzip() is None
