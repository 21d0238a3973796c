"""Decide whether upstream sources are reachable, and find the registries to use.

Every answer comes from the machine at run time: a quick connect to the hosts of
the sources lock's upstream URLs, pip's own configuration for the PyPI index and
npm's for the npm registry, so no registry host is ever written into the repository.
"""

from __future__ import annotations

import configparser
import json
import shutil
import socket
import subprocess
import urllib.parse
from pathlib import Path

from bazel_wrapper.errors import WrapperError

PROBE_TIMEOUT_S = 3.0


def upstream_hosts(lock_path: Path) -> list[str]:
    """The distinct hosts of every upstream URL in the sources lock, sorted."""
    lock = json.loads(lock_path.read_text())
    hosts = {
        urllib.parse.urlsplit(u).hostname
        for entry in lock["archives"].values()
        for u in entry["urls"]
    }
    return sorted(h for h in hosts if h)


def is_offline(lock_path: Path, env: dict[str, str]) -> bool:
    """True when the upstream hosts cannot be reached (KRUNNER_OFFLINE=1/0 forces it)."""
    forced = env.get("KRUNNER_OFFLINE")
    if forced in ("0", "1"):
        return forced == "1"
    for host in upstream_hosts(lock_path):
        try:
            with socket.create_connection((host, 443), timeout=PROBE_TIMEOUT_S):
                pass
        except OSError:
            return True
    return False


def pip_index_url(env: dict[str, str]) -> str:
    """The simple-index URL pip on this machine uses: env, pip config files, pip's default."""
    if env.get("PIP_INDEX_URL"):
        return env["PIP_INDEX_URL"].split()[0].rstrip("/")
    files = [
        Path("/etc/pip.conf"),
        Path("/etc/xdg/pip/pip.conf"),
        Path.home() / ".pip/pip.conf",
        Path.home() / ".config/pip/pip.conf",
    ]
    if env.get("PIP_CONFIG_FILE"):
        files.append(Path(env["PIP_CONFIG_FILE"]))
    url = None
    for path in files:  # later files override earlier ones, as in pip
        parser = configparser.ConfigParser(
            interpolation=None
        )  # as pip: `%` is literal (URL escapes)
        try:
            parser.read(path)
        except configparser.Error:
            continue
        for section in ("global", "download", "install"):
            if parser.has_option(section, "index-url"):
                url = parser.get(section, "index-url")
    if url:
        return url.split()[0].rstrip("/")
    try:
        from pip._internal.models.index import PyPI  # pip's built-in default index
    except ImportError as err:
        raise WrapperError(
            "cannot tell which Python package index to use: set PIP_INDEX_URL or install pip"
        ) from err
    return PyPI.simple_url.rstrip("/")


def _npmrc_registry(path: Path) -> str | None:
    """The `registry=` value of one npmrc file, if it sets one."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    found = None
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "registry":
            found = value.strip().strip('"')
    return found


def npm_registry_url(env: dict[str, str]) -> str | None:
    """The registry npm on this machine uses, or None when there is no npm to ask.

    As npm resolves it: the environment, then the user's npmrc over the global
    one; when no file sets it, npm itself is asked, for its built-in default.
    """
    for name in ("npm_config_registry", "NPM_CONFIG_REGISTRY"):
        if env.get(name):
            return env[name].strip().rstrip("/")
    user = Path(env.get("NPM_CONFIG_USERCONFIG") or Path.home() / ".npmrc")
    for path in (user, Path("/etc/npmrc"), Path("/usr/etc/npmrc")):
        url = _npmrc_registry(path)
        if url:
            return url.rstrip("/")
    npm = shutil.which("npm", path=env.get("PATH"))
    if not npm:
        return None
    try:
        proc = subprocess.run(
            [npm, "config", "get", "registry"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    url = proc.stdout.strip()
    return url.rstrip("/") if proc.returncode == 0 and "://" in url else None
