"""Reading and raising the versions in krunner/distros.bzl, the one place they are set.

Each distro is a `"<name>": struct(...)` entry of DISTROS whose `version = "X.Y.Z"`
and `volume_version = N` lines this module reads and rewrites in place, leaving
every other byte of the file as it is.
"""

from __future__ import annotations

import dataclasses
import re

from volume_lock.lock import LockError

DISTROS_PATH = "krunner/distros.bzl"
_ENTRY = re.compile(r'^    "(?P<name>\w+)": struct\(\n(?P<body>.*?)^    \),\n', re.M | re.S)
_FIELD = r'^        {}\s*=\s*(?P<value>"[^"\n]*"|\d+),\n'


@dataclasses.dataclass(frozen=True)
class Versions:
    """One distro's names and numbers as distros.bzl sets them."""

    distro_key: str
    distribution: str
    version: str
    volume_version: int


def _field(name: str, body: str, field: str) -> str:
    m = re.search(_FIELD.format(field), body, re.M)
    if not m:
        raise LockError(
            f"{DISTROS_PATH}: {name} has no `{field} = ...` line: restore the file from git"
        )
    return m.group("value").strip('"')


def read(text: str) -> dict[str, Versions]:
    """Every distro of the DISTROS dict in distros.bzl's `text`."""
    out = {}
    for m in _ENTRY.finditer(text):
        name, body = m.group("name"), m.group("body")
        out[name] = Versions(
            distro_key=_field(name, body, "distro_key"),
            distribution=_field(name, body, "distribution"),
            version=_field(name, body, "version"),
            volume_version=int(_field(name, body, "volume_version")),
        )
    if not out:
        raise LockError(
            f'{DISTROS_PATH}: no `"name": struct(` entries found: restore the file from git'
        )
    return out


def set_versions(text: str, name: str, version: str, volume_version: int) -> str:
    """`text` with distro `name`'s version and volume_version replaced."""
    for m in _ENTRY.finditer(text):
        if m.group("name") != name:
            continue
        body = m.group("body")
        body = re.sub(
            _FIELD.format("version"), f'        version = "{version}",\n', body, count=1, flags=re.M
        )
        body = re.sub(
            _FIELD.format("volume_version"),
            f"        volume_version = {volume_version},\n",
            body,
            count=1,
            flags=re.M,
        )
        return text[: m.start("body")] + body + text[m.end("body") :]
    raise LockError(f"{DISTROS_PATH}: no distro {name!r}")
