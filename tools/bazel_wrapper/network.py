"""Decide whether upstream sources are reachable, and find the PyPI index to use.

Both answers come from the machine at run time: a quick connect to the hosts of
the sources lock's upstream URLs, and pip's own configuration for the index, so
no registry host is ever written into the repository.
"""

from __future__ import annotations

import configparser
import json
import os
import socket
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
