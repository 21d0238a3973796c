"""Each volume in a distroless root: the libc and nothing else (Backend.AI issue 14588).

No /bin/sh, no coreutils, no ldd, no package manager. Newer agents start every
container as `/opt/backend.ai/bin/python -s /opt/kernel/entrypoint.py`, as root
before any user exists, so the interpreter must start there as uid 0 and
import what the runner imports. The published 23.9 runner (`app`) must start
as uid 1000 and answer `status`; a batch `exec`, a shell command with no shell
to run it, must come back with an error and a non-zero exit code, and leave
the runner answering.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import runner_process
from runner_process import AGENT_MOUNTS, ARCH, OP_TIMEOUT, ROOT, START_TIMEOUT, VOLUME
from support import image

IMPORTS = (
    "import asyncio, ctypes, ssl, hashlib, json, os, urllib.request, zlib, msgpack, zmq, janus, attrs, "
    "jupyter_client; print('ok', os.getuid())"
)


@pytest.fixture(scope="module")
def volume(tmp_path_factory) -> Path:
    return image.extract_volume(VOLUME, tmp_path_factory.mktemp("volume") / "volume")


def test_root_is_distroless():
    for tool in (
        "bin/sh",
        "bin/bash",
        "bin/ash",
        "bin/busybox",
        "bin/ls",
        "bin/cat",
        "bin/env",
        "bin/ldd",
        "usr/bin/ldd",
        "usr/bin/dpkg",
        "sbin/apk",
    ):
        assert not os.path.lexists(ROOT / tool), tool


def test_interpreter_starts_as_root(volume):
    proc = image.run(
        ROOT,
        volume,
        ["/opt/backend.ai/bin/python", "-s", "-c", IMPORTS],
        arch=ARCH,
        uid=0,
        timeout=600,
    )
    assert (proc.returncode, proc.stdout) == (0, "ok 0\n"), proc.stderr


@pytest.fixture(scope="module")
def runner(tmp_path_factory, volume):
    with runner_process.started(
        ROOT,
        volume,
        "app",
        arch=ARCH,
        log_path=tmp_path_factory.mktemp("runner") / "runner.log",
        mounts=AGENT_MOUNTS,
    ) as runner:
        yield runner


runner_log = runner_process.output


def status(client, proc, log) -> dict:
    return runner_process.status(client, proc, log, START_TIMEOUT)


def test_runner_answers_status(runner):
    client, proc, log = runner
    assert isinstance(status(client, proc, log)["started_at"], float)


def test_batch_exec_without_a_shell_returns_an_error(runner):
    client, proc, log = runner
    assert proc.poll() is None, runner_log(log)
    try:
        code, out, err, replies = client.run("exec", "echo hello", OP_TIMEOUT)
    except TimeoutError as e:
        pytest.fail(f"exec hung: {e}; runner output:\n{runner_log(log)}")
    assert code != 0, (replies, runner_log(log))
    assert "hello" not in out
    # the runner is still there and still answers
    assert proc.poll() is None, runner_log(log)
    assert isinstance(status(client, proc, log)["started_at"], float)
