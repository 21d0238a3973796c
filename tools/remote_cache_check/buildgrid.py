"""BuildGrid 0.4.4 from PyPI as a gRPC CAS and action cache on 127.0.0.1.

It is installed with the host's pip, for the sid root's python3.13 (`--target`
plus that interpreter's tags), from a requirements file that pins every
transitive dependency by sha256 (`--require-hashes --no-deps`), and it runs in
the sid root, so one set of pins serves every machine whatever its own Python.
"""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from remote_cache_check import server, sid

HERE = Path(__file__).resolve().parent
REQUIREMENTS = HERE / "buildgrid.requirements.txt"
CONFIG = HERE / "buildgrid.yml"
# The sid root's interpreter that runs BuildGrid, and the wheel tags it accepts.
PYTHON = "python3.13"
PIP_TARGET = ["--python-version", "3.13", "--implementation", "cp", "--abi", "cp313"] + [
    arg
    for tag in (
        "manylinux_2_39",
        "manylinux_2_34",
        "manylinux_2_28",
        "manylinux_2_17",
        "manylinux2014",
        "manylinux_2_5",
        "manylinux1",
    )
    for arg in ("--platform", f"{tag}_x86_64")
]


# Bazel opens up to 100 concurrent RPCs per gRPC connection and by default 100
# connections; BuildGrid's gRPC server refuses RPCs beyond its thread-pool-size
# (buildgrid.yml: 512) with RESOURCE_EXHAUSTED "Concurrent RPC limit exceeded!", and
# Bazel only warns about the failed uploads, leaving holes in the cache. Four
# connections keep Bazel at <= 400 RPCs in flight.
BAZEL_FLAGS = ["--remote_max_connections=4"]


def install(base: Path) -> Path:
    """Install the pinned requirements under `base` (once per requirements file)."""
    if platform.machine() != "x86_64":
        raise server.ServerError(
            f"{REQUIREMENTS.name} pins x86_64 wheels only; this is "
            f"{platform.machine()}: regenerate the pins for it (see the file's header)"
        )
    key = hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()[:12]
    site = base / f"buildgrid-{key}"
    if (site / "buildgrid").is_dir():
        return site
    staging = base / f"buildgrid-{key}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    cmd = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-compile",
        "--no-deps",
        "--only-binary=:all:",
        "--require-hashes",
        "--target",
        str(staging),
        *PIP_TARGET,
        "-r",
        str(REQUIREMENTS),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        raise server.ServerError(
            f"installing BuildGrid failed (pip exit {proc.returncode}). Needs the host's pip "
            f"(`{sys.executable} -m pip`) and its package index. pip said:\n{proc.stderr[-3000:]}"
        )
    staging.rename(site)
    return site


def start(base: Path, run: Path, workspace: Path) -> server.Running:
    """Start BuildGrid with an empty disk CAS in `run`; return it with its grpc:// URL."""
    site = install(base)
    port = server.free_port()
    (run / "cas").mkdir(parents=True, exist_ok=True)
    launcher = "import sys; sys.argv[0] = 'bgd'; from buildgrid.server.app import cli; cli()"
    argv = sid.command(
        [PYTHON, "-c", launcher, "server", "start", str(CONFIG)],
        env={
            "PYTHONPATH": str(site),
            "PYTHONDONTWRITEBYTECODE": "1",
            "BGD_ADDRESS": f"127.0.0.1:{port}",
            "BGD_CAS_DIR": str(run / "cas"),
        },
        binds=[sid.cache_dir(), workspace],
    )
    return server.start(
        "buildgrid", f"grpc://127.0.0.1:{port}", argv, port, run / "buildgrid.log", timeout_s=120
    )
