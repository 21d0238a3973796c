"""The kernel runner started in a test image as the agent starts it, its output kept.

`/opt/backend.ai/bin/python -s -m ai.backend.kernel <lang>` as uid 1000 with the
volume read-only (support.image), driven over ZMQ from inside its network
namespace (runner_client). What it printed is shown when a test fails and after
the runner stops.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest
import runner_client
from support import image

ARGV = ["/opt/backend.ai/bin/python", "-s", "-m", "ai.backend.kernel"]

# What a runner test is given (image_test and its BUILD entry set these): the CPU,
# the volume, the test image's root, and the runner's own packages, which the agent
# bind-mounts onto the volume's empty mount points in site-packages.
ARCH = os.environ["ARCH"]
RUNFILES = Path(os.environ["TEST_SRCDIR"])
VOLUME = RUNFILES / os.environ["VOLUME"]
ROOT = Path(os.path.realpath(RUNFILES / os.environ["ROOTFS"])).parent / "root"
KERNEL = Path(os.path.realpath(RUNFILES / os.environ["KERNEL_INIT"])).parent
HELPERS = Path(os.path.realpath(RUNFILES / os.environ["HELPERS_INIT"])).parent
SITE = "/opt/backend.ai/lib/python3.13/site-packages/ai/backend"
AGENT_MOUNTS = [(KERNEL, f"{SITE}/kernel"), (HELPERS, f"{SITE}/helpers")]
# Start-up imports the runner and starts ttyd; under qemu this takes a minute or more.
START_TIMEOUT = 300 if ARCH == "aarch64" else 60
OP_TIMEOUT = 120 if ARCH == "aarch64" else 30


@contextlib.contextmanager
def started(
    root: Path,
    volume: Path,
    lang: str,
    *,
    arch: str,
    mounts: list,
    log_path: Path,
    env: dict[str, str] | None = None,
):
    """Start the runner; yields (client, process, log file), stops it and prints its output."""
    log = open(log_path, "w+b")
    proc = image.start(
        root, volume, ARGV + [lang], arch=arch, env=env, mounts=mounts, stdout=log, stderr=log
    )
    client = runner_client.RunnerClient(image.netns_of(proc))
    try:
        yield client, proc, log
    finally:
        client.close()
        image.stop(proc)
        log.seek(0)
        print(f"--- runner output ---\n{log.read().decode(errors='replace')[-8000:]}")
        log.close()


def output(log) -> str:
    """The end of what the runner has printed so far."""
    log.flush()
    return Path(log.name).read_text(errors="replace")[-6000:]


def status(client, proc, log, timeout: float) -> dict:
    """The runner's `status` reply; a runner that exits or never answers fails the test."""
    try:
        return client.status(timeout, alive=lambda: proc.poll() is None)
    except TimeoutError as e:
        state = f"exited {proc.returncode}" if proc.poll() is not None else "running"
        pytest.fail(f"{e}; runner {state}, its output:\n{output(log)}")
