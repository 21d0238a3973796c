"""The image's Python variables do not steer our interpreter, and reach the user's processes.

The agent passes the image's `ENV` to the runner's process. Each variable of
`VARIABLES` (and all of them at once) is set for `/opt/backend.ai/bin/python -s
-i` reading a probe from stdin (interactive, so that PYTHONSTARTUP would run):
the interpreter must keep its own prefix, sys.path, stdlib and pyzmq, its
flags and warnings, and hand every variable on unchanged in os.environ.

The image's own dist-packages hold a different pyzmq: Debian's python3-zmq in
trixie_python (PYTHONPATH=/usr/lib/python3/dist-packages, as NGC, ROS and vLLM
images set it), or, in a musl root without Python, a `zmq` package that fails
when imported. The published runner (RUNNER) then starts with all the
variables set, answers `status`, and a batch `exec` sees them unchanged; the
26.9 runner re-executes itself as `bai-krunner` with PYTHONHOME=sys.prefix on
the way.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import runner_process
from runner_process import AGENT_MOUNTS, ARCH, KERNEL, OP_TIMEOUT, ROOT, START_TIMEOUT, VOLUME
from support import image

REEXECS = "bai-krunner" in (KERNEL / "__init__.py").read_text()  # the 26.9 runner, not 23.9

# The image's own site directory with a pyzmq that is not ours.
DEBIAN_SITE = "/usr/lib/python3/dist-packages"
IMAGE_SITE = (
    DEBIAN_SITE if (ROOT / DEBIAN_SITE.lstrip("/") / "zmq").is_dir() else "/root/dist-packages"
)
VARIABLES = {
    "PYTHONPATH": IMAGE_SITE,
    "PYTHONHOME": "/usr",
    "PYTHONPLATLIBDIR": "lib64",
    "PYTHONSTARTUP": "/root/startup.py",
    "PYTHONOPTIMIZE": "2",
    "PYTHONWARNINGS": "error",
    "PYTHONSAFEPATH": "1",
    "PYTHONDEVMODE": "1",
    "PYTHONEXECUTABLE": "/usr/bin/python3.13",
    "VIRTUAL_ENV": "/root/venv",
}
PROBE = (
    "import encodings, json, os, sys, zmq; print('PROBE', json.dumps({"
    "'prefix': sys.prefix, 'executable': sys.executable, 'path': sys.path, 'zmq': zmq.__file__, "
    "'encodings': encodings.__file__, 'optimize': sys.flags.optimize, 'warnoptions': sys.warnoptions, "
    "'safe_path': sys.flags.safe_path, 'dev_mode': sys.flags.dev_mode, 'platlibdir': sys.platlibdir, "
    "'startup': 'STARTUP_RAN' in globals(), "
    f"'environ': {{k: os.environ.get(k) for k in {sorted(VARIABLES)!r}}}, "
    "'saved': sorted(k for k in os.environ if k.startswith('KRUNNER_SAVED_'))}))\n"
)


@pytest.fixture(scope="module")
def image_files(tmp_path_factory) -> Path:
    """What the image adds at /root: a startup file and, in a root without Python, a foreign zmq."""
    root = tmp_path_factory.mktemp("image-root")
    (root / "startup.py").write_text("STARTUP_RAN = True\nprint('the image startup file ran')\n")
    decoy = root / "dist-packages/zmq"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text(
        "raise ImportError(\"the image's zmq was imported, not the volume's\")\n"
    )
    os.chmod(root, 0o755)
    return root


@pytest.fixture(scope="module")
def volume(tmp_path_factory) -> Path:
    return image.extract_volume(VOLUME, tmp_path_factory.mktemp("volume") / "volume")


def probe(volume: Path, image_files: Path, env: dict[str, str]) -> dict:
    proc = image.run(
        ROOT,
        volume,
        ["/opt/backend.ai/bin/python", "-s", "-i"],
        arch=ARCH,
        env=env,
        mounts=[(image_files, "/root")],
        stdin=PROBE,
        timeout=300,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("PROBE ")]
    assert proc.returncode == 0 and lines, (
        f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    )
    return json.loads(lines[0].removeprefix("PROBE "))


@pytest.mark.parametrize(
    "names", [[n] for n in VARIABLES] + [sorted(VARIABLES)], ids=list(VARIABLES) + ["all"]
)
def test_interpreter_ignores_and_passes_on(volume, image_files, names):
    env = {n: VARIABLES[n] for n in names}
    got = probe(volume, image_files, env)
    assert (got["prefix"], got["executable"]) == ("/opt/backend.ai", "/opt/backend.ai/bin/python")
    assert all(p == "" or p.startswith("/opt/backend.ai/") for p in got["path"]), got["path"]
    assert got["zmq"].startswith("/opt/backend.ai/lib/python3.13/site-packages/zmq/"), got["zmq"]
    assert got["encodings"].startswith("/opt/backend.ai/lib/python3.13/encodings/"), got[
        "encodings"
    ]
    assert (
        got["optimize"],
        got["warnoptions"],
        got["safe_path"],
        got["dev_mode"],
        got["platlibdir"],
        got["startup"],
    ) == (0, [], False, False, "lib", False)
    assert got["environ"] == {n: env.get(n) for n in VARIABLES}  # what the user's processes inherit
    assert got["saved"] == []


@pytest.fixture(scope="module")
def runner(tmp_path_factory, volume, image_files):
    with runner_process.started(
        ROOT,
        volume,
        "app",
        arch=ARCH,
        env=VARIABLES,
        log_path=tmp_path_factory.mktemp("runner") / "runner.log",
        mounts=[*AGENT_MOUNTS, (image_files, "/root")],
    ) as runner:
        yield runner


runner_log = runner_process.output


def test_runner_starts_with_the_image_env(runner):
    client, proc, log = runner
    status = runner_process.status(client, proc, log, START_TIMEOUT)
    assert isinstance(status["started_at"], float)


def test_user_commands_see_the_variables_unchanged(runner):
    client, proc, log = runner
    assert proc.poll() is None, runner_log(log)
    names = sorted(VARIABLES)
    command = (
        "echo "
        + '"|${'
        + "}|${".join(names)
        + '}|"; echo saved="${KRUNNER_SAVED_PYTHONEXECUTABLE-}"'
    )
    code, out, err, replies = client.run("exec", command, OP_TIMEOUT)
    assert code == 0, (replies, runner_log(log))
    # The 26.9 runner pops PYTHONHOME from its own environment after its re-exec (it had set it
    # to sys.prefix for that), so the image's value is gone in what it starts: its code, not ours.
    expected = {n: ("" if n == "PYTHONHOME" and REEXECS else VARIABLES[n]) for n in names}
    assert out.splitlines() == ["|" + "|".join(expected[n] for n in names) + "|", "saved="], (
        out,
        err,
    )
