"""The whole release path against a real package index.

tools/release's checks and output (release_tool.assemble) run on the built
volumes and publishable wheels and write dist/. pypiserver (pinned) serves an
empty index on 127.0.0.1 that takes uploads and downloads only with a password
(an htpasswd file written with passlib). twine uploads dist/'s wheels with the
credential in a config file passed by path, never in argv. pip installs each
wheel back from the index (its credential in a pip config file), each arch into
its own site directory, and the agent's own look-ups (agent_code.py, from the
pinned 23.9 and 26.9 agents) find every volume under the locked version. Then
the same upload again must fail: an index never replaces a released file.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import agent_probe
import pytest
from passlib.apache import HtpasswdFile
from release_tool import assemble, wheel_checks
from volume_lock import lock

RUNFILES = Path(os.environ["TEST_SRCDIR"])
LOCK = RUNFILES / os.environ["LOCK"]
DISTROS_BZL = RUNFILES / os.environ["DISTROS_BZL"]
VOLUMES = [RUNFILES / p for p in os.environ["VOLUMES"].split()]
WHEELS = [RUNFILES / p for p in os.environ["WHEELS"].split()]
PROBE = RUNFILES / os.environ["AGENT_CODE"]
AGENTS = {
    name: (RUNFILES / path).parents[3]
    for name, path in (item.split("=", 1) for item in os.environ["AGENTS"].split())
}  # .../ai/backend/agent/agent.py
USER = "krunner-release"
START_TIMEOUT = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """This interpreter's import path (twine, pip, pypiserver) for a child, and nothing of HOME's."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": os.environ["TEST_TMPDIR"],
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
        **extra,
    }


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> tuple[Path, dict[str, lock.Distro]]:
    """dist/ as tools/release writes it (no git in the sandbox: the commit says so)."""
    scratch = tmp_path_factory.mktemp("release-check")
    now = assemble.check(LOCK, DISTROS_BZL, VOLUMES, WHEELS, scratch)
    out = tmp_path_factory.mktemp("release") / "dist"
    provenance = {
        "commit": "none (//tests/release: the sandbox has no git checkout)",
        "sources lock": "not read by this test",
        "sid root manifest": "not read by this test",
    }
    assemble.write(out, WHEELS, provenance, now)
    return out, now


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    """pypiserver on 127.0.0.1 with a fresh password; yields (url, password, directory)."""
    root = tmp_path_factory.mktemp("index")
    password = secrets.token_urlsafe(24)
    htpasswd = HtpasswdFile(str(root / "htpasswd"), new=True, default_scheme="sha256_crypt")
    htpasswd.set_password(USER, password)
    htpasswd.save()
    packages = root / "packages"
    packages.mkdir()
    port = free_port()
    log = open(root / "server.log", "wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pypiserver",
            "run",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--passwords",
            str(root / "htpasswd"),
            "--authenticate",
            "update,download,list",
            "--server",
            "wsgiref",
            str(packages),
        ],
        env=child_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                pytest.fail(
                    f"pypiserver did not start: {(root / 'server.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
    try:
        yield f"http://127.0.0.1:{port}", password, packages
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def twine_upload(files: list[Path], url: str, user: str, password: str, config: Path, *flags: str):
    """`twine upload` with the credential in a .pypirc-style file named by path."""
    config.write_text(
        f"[distutils]\nindex-servers = local\n\n[local]\nrepository = {url}/\n"
        f"username = {user}\npassword = {password}\n"
    )
    config.chmod(0o600)
    argv = [
        sys.executable,
        "-m",
        "twine",
        "upload",
        "--non-interactive",
        "--disable-progress-bar",
        "--config-file",
        str(config),
        "--repository",
        "local",
        *flags,
        *map(str, files),
    ]
    assert password not in " ".join(argv)
    proc = subprocess.run(argv, env=child_env(), capture_output=True, text=True)
    assert password not in proc.stdout + proc.stderr, "twine printed the password"
    return proc


def test_dist_holds_checked_files(dist):
    out, _ = dist
    sums = dict(
        reversed(line.split("  ", 1)) for line in (out / "SHA256SUMS").read_text().splitlines()
    )
    assert sorted(sums) == sorted(p.name for p in out.iterdir() if p.name != "SHA256SUMS")
    for name, sha in sums.items():
        assert lock.sha256_of(out / name) == sha, name
    for w in WHEELS:
        assert (out / w.name).read_bytes() == w.read_bytes()
        assert (
            out / (w.name.removesuffix(".whl") + ".cdx.json")
        ).read_bytes() == wheel_checks.sbom(w)
    note = (out / "PROVENANCE.txt").read_text()
    assert all(f"{w.name} sha256 {lock.sha256_of(w)}" in note for w in WHEELS)


def test_upload_install_and_agent_discovery(dist, index, tmp_path):
    out, now = dist
    url, password, packages = index
    wheels = sorted(out.glob("*.whl"))

    wrong = twine_upload(wheels[:1], url, USER, "not-" + password, tmp_path / "wrong.pypirc")
    assert wrong.returncode != 0 and not any(packages.iterdir()), (
        "the index took an unauthenticated upload"
    )

    first = twine_upload(wheels, url, USER, password, tmp_path / "pypirc")
    assert first.returncode == 0, first.stdout + first.stderr
    assert sorted(p.name for p in packages.iterdir()) == [w.name for w in wheels]

    pip_conf = tmp_path / "pip.conf"
    host = url.removeprefix("http://")
    pip_conf.write_text(f"[global]\nindex-url = http://{USER}:{password}@{host}/simple/\n")
    pip_conf.chmod(0o600)
    setuptools = agent_probe.setuptools_copy(tmp_path / "setuptools")
    requirements = sorted({"{}=={}".format(*wheel_checks.metadata(w)) for w in wheels})
    for arch in ("x86_64", "aarch64"):
        site = tmp_path / f"site-{arch}"
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
                str(site),
                *requirements,
            ],
            env=child_env(PIP_CONFIG_FILE=str(pip_conf)),
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr.replace(password, "***")
        for w in wheels:
            if wheel_checks.arch_of(w) == arch:  # the index served the released bytes
                assert wheel_checks.installed_problems(w, site) == []
        expected = {
            d.distro_key: f"backendai-krunner.v{d.volume_version}.{arch}.{d.distro_key}"
            for d in now.values()
        }
        for agent in sorted(AGENTS):
            found = agent_probe.probe(PROBE, AGENTS[agent], arch, site, setuptools)
            assert found["volumes"] == expected, f"{agent} agent, {arch}: {found['volumes']}"
            for label, key in agent_probe.IMAGES.items():
                assert found["info"][label].get("volume") == expected[key], (
                    agent,
                    label,
                    found["info"][label],
                )

    # --verbose shows the index's reason (pypiserver answers twine 400, as PyPI does)
    again = twine_upload(wheels, url, USER, password, tmp_path / "pypirc", "--verbose")
    assert again.returncode != 0, "the index accepted the same version twice"
    said = re.sub(r"\s+", "", again.stdout + again.stderr)  # twine's console wraps the body
    assert "alreadyexists!" in said, again.stdout + again.stderr
    assert sorted(p.name for p in packages.iterdir()) == [w.name for w in wheels]
    for w in wheels:
        with zipfile.ZipFile(packages / w.name) as zf:
            assert zf.testzip() is None
        assert (packages / w.name).read_bytes() == w.read_bytes()
