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

The same holds for apt's Debian mirror when its URL carries credentials: every
host's credentials go into the one file, and the helper answers each host with
its own. A URL that cannot be split safely (a raw `/` in a token, so the token
would be read as the host's path; a port that is not a number) is refused
without echoing it. `redact()` is used wherever such a URL is printed.
"""

from __future__ import annotations

import json
import os
import re
import urllib.parse
from pathlib import Path

from bazel_wrapper.errors import WrapperError

HELPER = Path(__file__).with_name("credential_helper.py")
ENV_VAR = "KRUNNER_CREDENTIALS_FILE"


def _hier(url: str) -> tuple[str, str, str]:
    """(scheme, what follows `scheme://` up to any ? or #, the rest)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return "", "", url
    cut = min([i for i in (rest.find("?"), rest.find("#")) if i >= 0], default=len(rest))
    return scheme, rest[:cut], rest[cut:]


def redact(url: str) -> str:
    """`url` with anything before an `@` in its authority and path replaced by `***`."""
    scheme, hier, tail = _hier(url)
    if "@" not in hier:
        return url
    return f"{scheme}://***@{hier.rsplit('@', 1)[1]}{tail}"


def split(url: str, what: str = "the package index URL") -> tuple[str, dict | None]:
    """(the URL without user info, {"host", "login", "password"} or None).

    Raises WrapperError, naming `what` and never the secret, for a URL whose user
    info cannot be split off safely.
    """
    parts = urllib.parse.urlsplit(url)
    _scheme, hier, _tail = _hier(url)
    if "@" in hier and "@" not in parts.netloc:
        raise WrapperError(
            f"{what} {redact(url)} has an `@` after a `/`: a token with a raw `/` would be read "
            "as part of the host's path and reach Bazel's command line. Percent-encode the "
            "`/` in the token as %2F."
        )
    try:
        port = parts.port
    except ValueError:
        raise WrapperError(
            f"{what} {redact(url)}: its port is not a number from 0 to 65535; fix the URL"
        ) from None
    if parts.username is None and parts.password is None:
        return url, None
    netloc = parts.hostname or ""
    if ":" in netloc:  # an IPv6 literal
        netloc = f"[{netloc}]"
    if port:
        netloc += f":{port}"
    bare = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    return bare, {
        "host": parts.hostname or "",
        "login": urllib.parse.unquote(parts.username or ""),
        "password": urllib.parse.unquote(parts.password or ""),
    }


# A scope Bazel takes for --credential_helper: a domain name with a dot, optionally
# `*.`-prefixed. An IP address or a dot-less name (localhost, devpi) is none.
_SCOPE = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)+")


def helper_arg(host: str) -> str:
    """The `--credential_helper` option for credentials of `host`.

    Scoped to the host where Bazel can scope to it; otherwise (an IPv6 or IPv4
    address, a name without a dot) unscoped, since Bazel refuses such a scope and
    every fetch would fail. Either way the helper answers only `host`'s URIs.
    """
    host = host.lower()
    if _SCOPE.fullmatch(host) and not host.rsplit(".", 1)[1].isdigit():
        return f"--credential_helper={host}={HELPER}"
    return f"--credential_helper={HELPER}"


def write_secret(cache: Path, creds: dict | list[dict]) -> Path:
    """Store `creds` (one host's, or a list) readable by the caller only; returns the path."""
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


def url_args(urls: dict[str, tuple[str, str]], cache: Path, child_env: dict[str, str]) -> list[str]:
    """`--repo_env=NAME=<bare URL>` for each NAME: (URL, what it is), credentials to the helper.

    Sets KRUNNER_CREDENTIALS_FILE in `child_env` (the environment Bazel will get)
    when any URL carries credentials.
    """
    args, stored, helpers = [], [], []
    for name, (url, what) in urls.items():
        bare, creds = split(url, what)
        args.append(f"--repo_env={name}={bare}")
        if creds:
            stored.append(creds)
            if helper_arg(creds["host"]) not in helpers:
                helpers.append(helper_arg(creds["host"]))
    if stored:
        child_env[ENV_VAR] = str(write_secret(cache, stored))
    return args + helpers


def index_args(index_url: str, cache: Path, child_env: dict[str, str]) -> list[str]:
    """Bazel options for the index; any credentials go to a file and the helper."""
    return url_args({"KRUNNER_PYPI_INDEX": (index_url, "the package index URL")}, cache, child_env)
