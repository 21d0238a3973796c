"""The published 23.9 kernel runner, started from a volume as the agent starts it.

The agent mounts its own `ai/backend/kernel` and `ai/backend/helpers` onto the
volume's empty mount points in site-packages (agent contract); here they are
backend.ai-kernel and backend.ai-kernel-helper 23.9.10 from PyPI, unpacked by
Bazel and bind-mounted read-only there. The runner then starts as uid 1000
with the volume read-only: `/opt/backend.ai/bin/python -s -m ai.backend.kernel
<lang>`, in its own network namespace, and is driven over ZMQ (runner_client):

- `status` answers (so start-up, with its ttyd service, finished);
- a batch `exec` runs in the image's /bin/sh, streams stdout and stderr, and its
  non-zero exit code comes back in `finished`; the command and the runner run as
  uid 1000;
- with the `python` runner (in trixie_python, whose python3 has ipykernel),
  query mode: `code` runs Python in a Jupyter kernel and its output comes back.

`app` needs no language runtime in the image, so it is the runner for the bare
glibc and musl images.
"""

from __future__ import annotations

import os

import pytest
import runner_process
from runner_process import AGENT_MOUNTS, ARCH, OP_TIMEOUT, ROOT, START_TIMEOUT, VOLUME
from support import image

LANG = os.environ["RUNNER_LANG"]
# The shell's uid, its parent's (the runner's), then output on both streams and a failure.
EXEC = (
    'while read k v rest; do [ "$k" = Uid: ] && echo "uid $v $rest"; done < /proc/self/status; '
    'while read k v rest; do [ "$k" = Uid: ] && echo "runner uid $v $rest"; done < /proc/$PPID/status; '
    "echo to-stderr >&2; exit 3"
)


@pytest.fixture(scope="module")
def runner(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("runner")
    volume = image.extract_volume(VOLUME, tmp / "volume")
    with runner_process.started(
        ROOT, volume, LANG, arch=ARCH, log_path=tmp / "runner.log", mounts=AGENT_MOUNTS
    ) as runner:
        yield runner


runner_log = runner_process.output


def require_running(proc, log) -> None:
    if proc.poll() is not None:
        pytest.fail(f"the runner exited ({proc.returncode}); its output:\n{runner_log(log)}")


def test_status_answers(runner):
    client, proc, log = runner
    status = runner_process.status(client, proc, log, START_TIMEOUT)
    assert isinstance(status["started_at"], float)


def test_batch_exec_returns_the_exit_code_as_uid_1000(runner):
    client, proc, log = runner
    require_running(proc, log)
    code, out, err, replies = client.run("exec", EXEC, OP_TIMEOUT)
    assert code == 3, (replies, runner_log(log))
    lines = [line.split() for line in out.splitlines()]
    # real, effective, saved and file-system uid of the shell, then of the runner
    assert lines == [["uid"] + ["1000"] * 4, ["runner", "uid"] + ["1000"] * 4], (out, err)
    assert "to-stderr" in err.splitlines()  # the runner's own log lines come on stderr too


@pytest.mark.skipif(LANG != "python", reason="query mode needs the image's Python with ipykernel")
def test_query_mode_runs_python(runner):
    client, proc, log = runner
    require_running(proc, log)
    code, out, err, replies = client.run(
        "code", "import os; print(6 * 7, os.getuid())", OP_TIMEOUT * 2
    )
    assert (code, out) == (0, "42 1000\n"), (replies, runner_log(log))


def test_runner_is_still_running(runner):
    client, proc, log = runner
    assert proc.poll() is None, runner_log(log)
