"""The package index's credentials never reach Bazel's command line."""

from __future__ import annotations

import base64
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

from bazel_wrapper import credentials

TOOLS_BAZEL = Path(os.environ["TOOLS_BAZEL"]).resolve()
SECRET_URL = "https://alice:s3cr%40t@index.invalid:8443/simple/"


def fake_bazel(tmp_path: Path) -> Path:
    """A Bazel >= 7.7 that prints its argv and the credentials file it was given."""
    exe = tmp_path / "bazel"
    exe.write_text(
        textwrap.dedent("""\
        #!/bin/sh
        if [ "$1" = "--version" ]; then echo "bazel 7.7.1"; exit 0; fi
        for a in "$@"; do echo "ARG $a"; done
        echo "ENV $KRUNNER_CREDENTIALS_FILE"
        """)
    )
    exe.chmod(0o755)
    return exe


def run_wrapper(
    tmp_path: Path, env_extra: dict[str, str], *args: str
) -> subprocess.CompletedProcess:
    cache = tmp_path / "cache"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "KRUNNER_CACHE": str(cache),
        "KRUNNER_OFFLINE": "0",
        "BAZEL_REAL": str(fake_bazel(tmp_path)),
        "KRUNNER_DEBIAN_MIRROR": "http://debian.invalid/debian",
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, str(TOOLS_BAZEL), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def helper(creds_file: str, uri: str) -> dict:
    proc = subprocess.run(
        [sys.executable, str(credentials.HELPER), "get"],
        input=json.dumps({"uri": uri}),
        env={"KRUNNER_CREDENTIALS_FILE": creds_file},
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_index_credentials_stay_off_the_command_line(tmp_path):
    proc = run_wrapper(tmp_path, {"PIP_INDEX_URL": SECRET_URL}, "build", "//x")
    assert proc.returncode == 0, proc.stderr
    argv = [line[4:] for line in proc.stdout.splitlines() if line.startswith("ARG ")]
    assert not [a for a in argv if "s3cr" in a or "alice" in a]
    assert "--repo_env=KRUNNER_PYPI_INDEX=https://index.invalid:8443/simple" in argv
    helpers = [a for a in argv if a.startswith("--credential_helper=index.invalid=")]
    assert len(helpers) == 1 and helpers[0].endswith("/tools/bazel_wrapper/credential_helper.py")
    creds_file = next(line[4:] for line in proc.stdout.splitlines() if line.startswith("ENV "))
    assert stat.S_IMODE(os.stat(creds_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(Path(creds_file).parent).st_mode) == 0o700
    header = helper(creds_file, "https://index.invalid:8443/simple/pytest/")["headers"][
        "Authorization"
    ]
    assert header == ["Basic " + base64.b64encode(b"alice:s3cr@t").decode()]
    assert helper(creds_file, "https://elsewhere.invalid/x.whl") == {"headers": {}}
    plain = run_wrapper(tmp_path, {"PIP_INDEX_URL": "https://index.invalid/simple"}, "build", "//x")
    assert "--credential_helper" not in plain.stdout and "ENV " in plain.stdout.splitlines()


def test_credentials_from_pip_conf_are_handled_the_same_way(tmp_path):
    conf = tmp_path / "pip.conf"
    conf.write_text(f"[global]\nindex-url = {SECRET_URL}\n")
    proc = run_wrapper(tmp_path, {"PIP_CONFIG_FILE": str(conf)}, "fetch", "//x")
    assert proc.returncode == 0, proc.stderr
    argv = [line[4:] for line in proc.stdout.splitlines() if line.startswith("ARG ")]
    assert (
        not [a for a in argv if "s3cr" in a] and "--credential_helper=index.invalid=" in proc.stdout
    )


def test_redact_hides_the_token_but_keeps_the_host():
    assert credentials.redact(SECRET_URL) == "https://***@index.invalid:8443/simple/"
    assert credentials.redact("https://index.invalid/simple") == "https://index.invalid/simple"


def test_the_npm_registry_comes_from_npm_config_and_its_credentials_go_to_the_helper(tmp_path):
    """buildifier's registry: the user's npmrc over npm's default, the password to the helper."""
    (tmp_path / ".npmrc").write_text(
        "fund=false\nregistry=https://bob:npm%40pw@npm.invalid/registry/\n"
    )
    proc = run_wrapper(tmp_path, {"PIP_INDEX_URL": "https://index.invalid/simple"}, "build", "//x")
    assert proc.returncode == 0, proc.stderr
    argv = [line[4:] for line in proc.stdout.splitlines() if line.startswith("ARG ")]
    assert "--repo_env=KRUNNER_NPM_REGISTRY=https://npm.invalid/registry" in argv
    assert not [a for a in argv if "npm%40pw" in a or "bob" in a]
    creds_file = next(line[4:] for line in proc.stdout.splitlines() if line.startswith("ENV "))
    header = helper(creds_file, "https://npm.invalid/registry/@bazel%2fbuildifier")["headers"]
    assert header["Authorization"] == ["Basic " + base64.b64encode(b"bob:npm@pw").decode()]
    env_wins = run_wrapper(
        tmp_path,
        {
            "PIP_INDEX_URL": "https://index.invalid/simple",
            "npm_config_registry": "https://n2.invalid/",
        },
        "build",
        "//x",
    )
    assert "ARG --repo_env=KRUNNER_NPM_REGISTRY=https://n2.invalid" in env_wins.stdout
