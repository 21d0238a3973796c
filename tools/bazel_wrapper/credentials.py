"""Keep the package index's credentials off Bazel's command line.

A private index is often configured as `https://user:token@host/simple`. Passed
as `--repo_env=KRUNNER_PYPI_INDEX=...`, the token would show in `ps`, in Bazel's
command log and in the execution log. Instead:

- Bazel gets the URL without its user info;
- the user info goes into a file only the caller can read
  (`<cache>/credentials/pypi-index.json`, mode 0600 in a 0700 directory);
- Bazel is told, by host, to ask `credential_helper.py` for credentials
  (`--credential_helper=<host>=<helper>`); Bazel's downloader calls it for every
  download from that host (the index pages and the wheels), and the helper
  answers with the Authorization header built from that file, whose path it
  finds in `KRUNNER_CREDENTIALS_FILE` (a path, not a secret).

`redact()` is used wherever an index URL is printed.
"""

from __future__ import annotations

import json
import os
import urllib.parse
from pathlib import Path

HELPER = Path(__file__).with_name("credential_helper.py")
ENV_VAR = "KRUNNER_CREDENTIALS_FILE"


def split(url: str) -> tuple[str, dict | None]:
    """(the URL without user info, {"host", "login", "password"} or None)."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 literal
        netloc = f"[{netloc}]"
    if parts.port:
        netloc += f":{parts.port}"
    bare = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, {"host": parts.hostname or "",
                  "login": urllib.parse.unquote(parts.username or ""),
                  "password": urllib.parse.unquote(parts.password or "")}


def redact(url: str) -> str:
    """`url` with any password or token replaced by `***`, for messages."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urllib.parse.urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query,
                                    parts.fragment))


def write_secret(cache: Path, creds: dict) -> Path:
    """Store `creds` readable by the caller only; returns the file's path."""
    directory = cache / "credentials"
    directory.mkdir(mode=0o700, exist_ok=True)
    os.chmod(directory, 0o700)  # also when an older or umask-made directory was wider
    path = directory / "pypi-index.json"
    tmp = directory / f".pypi-index.json.{os.getpid()}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(creds, f)
    os.replace(tmp, path)
    return path


def index_args(index_url: str, cache: Path, child_env: dict[str, str]) -> list[str]:
    """Bazel options for the index; any credentials go to a file and the helper.

    Sets KRUNNER_CREDENTIALS_FILE in `child_env` (the environment Bazel will get)
    when the URL carries credentials.
    """
    bare, creds = split(index_url)
    args = [f"--repo_env=KRUNNER_PYPI_INDEX={bare}"]
    if creds:
        child_env[ENV_VAR] = str(write_secret(cache, creds))
        args.append(f"--credential_helper={creds['host']}={HELPER}")
    return args
