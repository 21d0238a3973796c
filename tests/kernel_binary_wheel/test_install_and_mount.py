"""pip installs each drop-in wheel, and the agent's own mount_krunner finds every file in it.

Each wheel is installed as pip picks it for its platform and the agent's Python
(`--platform`/`--python-version 3.13`/`--target`, so the aarch64 one is installed
on any host), next to an empty ai.backend.agent
package where the agent would be. mount_probe.py then runs the published 26.9
agent's `mount_krunner` on that site, for a glibc and a musl image and with the
jail sandbox: every file it bind-mounts from ai/backend/runner must exist, and
the in-container binaries it mounts under /opt/kernel are the wheel's members
(ours where replaced).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"])
WHEELS = [RUNFILES / p for p in os.environ["WHEELS"].split()]
PIP_PATH = str((RUNFILES / os.environ["PIP_INIT"]).parent.parent)
AGENT = (RUNFILES / os.environ["AGENT_PY"]).parents[3]  # .../ai/backend/agent/agent.py
PROBE = RUNFILES / os.environ["MOUNT_PROBE"]
AGENT_CODE_DIR = str((RUNFILES / os.environ["AGENT_CODE"]).parent)
KERNEL_BINARIES = {
    "/opt/kernel/su-exec": "su-exec",
    "/opt/kernel/dropbearmulti": "dropbearmulti",
    "/opt/kernel/sftp-server": "sftp-server",
    "/opt/kernel/tmux": "tmux",
    "/opt/kernel/ttyd": "ttyd_linux",
}


def install(whl: Path, arch: str, target: Path) -> None:
    env = {
        "PYTHONPATH": PIP_PATH,
        "PIP_NO_INDEX": "1",
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "HOME": os.environ["TEST_TMPDIR"],
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
    }
    argv = [sys.executable, "-m", "pip", "install", "--no-deps", "--only-binary=:all:"]
    # the agent's Python: upstream's metadata (kept) says Requires-Python <3.14
    argv += ["--platform", f"manylinux2014_{arch}", "--python-version", "3.13"]
    argv += ["--target", str(target), str(whl)]
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


@pytest.fixture(scope="module", params=["x86_64", "aarch64"])
def site(request, tmp_path_factory):
    arch = request.param
    (whl,) = [w for w in WHEELS if f"_{arch}." in w.name]
    target = tmp_path_factory.mktemp(f"site-{arch}")
    install(whl, arch, target)
    # where the agent's own package would be installed: mount_krunner globs ai/backend/agent/../runner
    (target / "ai/backend/agent").mkdir(parents=True)
    (target / "ai/backend/agent/__init__.py").write_text("")
    return arch, whl, target


def test_installed_as_the_local_version(site):
    arch, whl, target = site
    (dist_info,) = target.glob("backend_ai_kernel_binary-*.dist-info")
    assert dist_info.name == "backend_ai_kernel_binary-26.9.6+krunner.1.dist-info"
    # pip checked RECORD while installing; every file it lists is there
    for line in (dist_info / "RECORD").read_text().splitlines():
        assert (target / line.split(",")[0]).exists(), line


@pytest.mark.parametrize("distro", ["ubuntu22.04", "alpine3.8"])
def test_mount_krunner_finds_every_file(site, distro):
    arch, whl, target = site
    # upstream ships jail for x86_64 only (the agent refuses the jail sandbox elsewhere)
    sandbox = "jail" if arch == "x86_64" and distro.startswith("ubuntu") else "docker"
    proc = subprocess.run(
        [sys.executable, str(PROBE), str(AGENT), arch, distro, sandbox],
        env={"PYTHONPATH": os.pathsep.join([str(target), AGENT_CODE_DIR]), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    mounts = json.loads(proc.stdout)
    runner = (target / "ai/backend/runner").resolve()
    from_runner = {dst: Path(src) for kind, src, dst in mounts if Path(src).parent == runner}
    for dst, src in from_runner.items():
        assert src.exists(), f"the agent mounts {src} at {dst}, and the wheel has no such file"
    assert set(KERNEL_BINARIES) <= set(from_runner)
    expected = {"/opt/kernel/libbaihook.so", "/opt/kernel/entrypoint.sh", "/usr/local/bin/bssh"}
    expected |= {"/opt/kernel/jail"} if sandbox == "jail" else set()
    expected |= {"/home/work/.terminfo"} if distro.startswith("alpine") else set()
    assert expected <= set(from_runner), sorted(from_runner)
    with zipfile.ZipFile(whl) as zf:
        for dst, stem in KERNEL_BINARIES.items():
            member = f"ai/backend/runner/{stem}.{arch}.bin"
            assert from_runner[dst].name == f"{stem}.{arch}.bin"
            assert (
                hashlib.sha256(from_runner[dst].read_bytes()).digest()
                == hashlib.sha256(zf.read(member)).digest()
            )
