"""Download a file and refuse it unless its sha256 is the pinned one."""

from __future__ import annotations

import hashlib
import urllib.request
from pathlib import Path


class FetchError(Exception):
    """A pinned file could not be fetched, or its bytes are not the pinned ones."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def fetch_pinned(url: str, dest: Path, sha256: str) -> Path:
    """`dest`, downloaded from `url` unless already there with the right sha256."""
    if dest.exists() and sha256_of(dest) == sha256:
        return dest
    dest.parent.mkdir(parents=True, exist_ok=True)
    partial = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=120) as resp, open(partial, "wb") as out:
            while block := resp.read(1 << 20):
                out.write(block)
    except OSError as err:
        partial.unlink(missing_ok=True)
        raise FetchError(f"cannot download {url}: {err}") from err
    actual = sha256_of(partial)
    if actual != sha256:
        partial.unlink()
        raise FetchError(f"{url}: sha256 {actual}, pinned {sha256}. The mirror serves other bytes "
                         "than the pin: re-check the pin against the Packages index, never just copy "
                         "the new hash.")
    partial.rename(dest)
    return dest
