"""Where this machine's Debian archive is, read from its apt configuration."""

from __future__ import annotations

import base64
import os
import urllib.parse
from pathlib import Path


class NoDebianMirror(Exception):
    """No Debian archive is configured for apt on this machine."""


def redact(url: str) -> str:
    """`url` with any user info (anything before an `@` in it) replaced by `***`."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    return f"{scheme}://***@{rest.rsplit('@', 1)[1]}"


def with_auth(url: str) -> tuple[str, dict[str, str]]:
    """(the URL without user info, the Basic Authorization header it asks for, if any).

    A mirror URL with `user:password@` works with apt; urllib does not take user
    info from a URL, and the URL must never be printed with it.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.username is None and parts.password is None:
        return url, {}
    netloc = parts.netloc.rsplit("@", 1)[1]
    bare = urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    login = (
        f"{urllib.parse.unquote(parts.username or '')}:{urllib.parse.unquote(parts.password or '')}"
    )
    return bare, {"Authorization": "Basic " + base64.b64encode(login.encode()).decode()}


def _deb822_uris(text: str) -> list[str]:
    uris = []
    for stanza in text.split("\n\n"):
        fields = dict(
            line.split(":", 1)
            for line in stanza.splitlines()
            if ":" in line and not line.startswith(("#", " "))
        )
        if "deb" in fields.get("Types", "").split():
            uris += fields.get("URIs", "").split()
    return uris


def _one_line_uris(text: str) -> list[str]:
    uris = []
    for line in text.splitlines():
        words = line.split("#", 1)[0].split()
        if words[:1] == ["deb"]:
            words = words[1:]
            if words and words[0].startswith("["):
                while words and not words[0].endswith("]"):
                    words = words[1:]
                words = words[1:]
            if words:
                uris.append(words[0])
    return uris


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str:
    """The Debian archive URL apt uses here (`KRUNNER_DEBIAN_MIRROR` overrides).

    Security and third-party archives are skipped: the first `deb` source whose
    path ends in `/debian` wins.
    """
    if os.environ.get("KRUNNER_DEBIAN_MIRROR"):
        return os.environ["KRUNNER_DEBIAN_MIRROR"].rstrip("/")
    uris: list[str] = []
    for path in [apt_dir / "sources.list"] + sorted((apt_dir / "sources.list.d").glob("*")):
        if not path.is_file():
            continue
        text = path.read_text(errors="replace")
        if path.suffix == ".sources":
            uris += _deb822_uris(text)
        elif path.suffix == ".list" or path.name == "sources.list":
            uris += _one_line_uris(text)
    for uri in uris:
        if uri.rstrip("/").endswith("/debian"):
            return uri.rstrip("/")
    raise NoDebianMirror(
        f"no Debian archive (a `deb` source ending in /debian) in {apt_dir}/sources.list*; "
        "set KRUNNER_DEBIAN_MIRROR to your Debian mirror's URL"
    )
