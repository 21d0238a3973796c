"""The runner with the agent's libbaihook preloaded, as the agent starts it.

The agent bind-mounts one of backend.ai-kernel-binary's
`libbaihook.<distro>.<arch>.so` at /opt/kernel/libbaihook.so, chosen with its
`match_distro_data` for the image's base-distro label, and sets
`LD_PRELOAD=/opt/kernel/libbaihook.so` for the container. Here the choice is
made by the 26.9 agent's own `match_distro_data` and file-name pattern (read
from its source), the file is mounted at /root/libbaihook.so (the test roots
have no /opt/kernel mount point) and preloaded into the published 23.9 runner
(`app`), which must answer `status` and run a batch `exec` with the hook mapped
into its own process.
"""

from __future__ import annotations

import ast
import os
import shutil
from pathlib import Path

import agent_code
import pytest
import runner_process
from runner_process import AGENT_MOUNTS, ARCH, OP_TIMEOUT, ROOT, RUNFILES, START_TIMEOUT, VOLUME
from support import image

RUNNER_DIR = Path(os.path.realpath(RUNFILES / os.environ["RUNNER_SH"])).parent  # ai/backend/runner
AGENT = Path(os.path.realpath(RUNFILES / os.environ["AGENT_PY"])).parent  # ai/backend/agent
LABEL = os.environ["DISTRO_LABEL"]  # the image's ai.backend.base-distro
EXEC = (
    'n=0; while read -r l; do case "$l" in *libbaihook*) n=$((n+1));; esac; done < /proc/$PPID/maps; '
    'echo "runner maps the hook $n"; echo "LD_PRELOAD=$LD_PRELOAD"'
)


def chosen_hook() -> Path:
    """The variant the agent picks: its `_rx_distro` names the candidates, `match_distro_data` picks one."""
    tree = ast.parse((AGENT / "agent.py").read_text())
    rx = next(
        node.value.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(getattr(t, "id", None) == "_rx_distro" for t in node.targets)
    )
    ns: dict = {
        "re": __import__("re"),
        "UnsupportedBaseDistroError": agent_code.UnsupportedBaseDistroError,
    }
    agent_code.load(AGENT / "kernel.py", ns, {"match_distro_data"})
    import re

    candidates = {}
    for p in RUNNER_DIR.glob(f"libbaihook.*.{ARCH}.so"):
        m = re.search(rx, p.name)
        if m:
            candidates[m.group(1)] = p.name
    _, name = ns["match_distro_data"](candidates, LABEL)
    return RUNNER_DIR / name


@pytest.fixture(scope="module")
def hook_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("kernel")
    shutil.copyfile(chosen_hook(), d / "libbaihook.so")
    os.chmod(d, 0o755)
    os.chmod(d / "libbaihook.so", 0o755)
    return d


def test_the_agent_picks_the_variant_of_the_libc():
    name = chosen_hook().name
    assert name == (
        f"libbaihook.alpine3.8.{ARCH}.so"
        if LABEL.startswith("alpine")
        else f"libbaihook.ubuntu22.04.{ARCH}.so"
    ), name


@pytest.fixture(scope="module")
def runner(tmp_path_factory, hook_dir):
    volume = image.extract_volume(VOLUME, tmp_path_factory.mktemp("volume") / "volume")
    with runner_process.started(
        ROOT,
        volume,
        "app",
        arch=ARCH,
        env={"LD_PRELOAD": "/root/libbaihook.so"},
        log_path=tmp_path_factory.mktemp("runner") / "runner.log",
        mounts=[*AGENT_MOUNTS, (hook_dir, "/root")],
    ) as runner:
        yield runner


runner_log = runner_process.output


def test_runner_runs_with_the_hook(runner):
    client, proc, log = runner
    runner_process.status(client, proc, log, START_TIMEOUT)
    code, out, err, replies = client.run("exec", EXEC, OP_TIMEOUT)
    assert code == 0, (replies, runner_log(log))
    lines = out.splitlines()
    assert lines[1] == "LD_PRELOAD=/root/libbaihook.so", out
    assert lines[0] != "runner maps the hook 0", out  # our interpreter loaded it
    assert proc.poll() is None, runner_log(log)
