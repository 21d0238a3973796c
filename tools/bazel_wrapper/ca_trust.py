"""Keep the sid root trusting the host's local CA certificates.

Bazel's Java downloads through whatever proxy the host uses, and such proxies
often present a certificate from a local CA that the host added under
/usr/local/share/ca-certificates. The root gets a copy of those certificates and
rebuilds its trust stores (including Java's) with `update-ca-certificates`. The
copy is not made once and forgotten: a digest of the host's set is stamped in the
root, and when the host's set changes the root is brought up to date before
Bazel runs.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Callable

HOST_CAS = Path("/usr/local/share/ca-certificates")
STAMP = ".krunner-ca-digest"


def host_digest(source: Path = HOST_CAS) -> str:
    """sha256 over the host's local CA files (relative path and content), sorted."""
    digest = hashlib.sha256()
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(source)).encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def is_current(root: Path, source: Path = HOST_CAS) -> bool:
    """True when `root` was last given exactly the host's current local CAs."""
    try:
        return (root / STAMP).read_text().strip() == host_digest(source)
    except FileNotFoundError:
        return False


def refresh(
    root: Path, run_in_root: Callable[[list[str], str], None], source: Path = HOST_CAS
) -> None:
    """Replace the root's local CAs with the host's and rebuild its trust stores.

    `run_in_root(argv, what)` runs a command inside the root (see sid_root).
    """
    stamp = host_digest(source)  # of what is copied, even if the host changes meanwhile
    target = root / "usr/local/share/ca-certificates"
    if target.exists():
        shutil.rmtree(target)  # CAs the host dropped must go from the root as well
    if source.is_dir():
        shutil.copytree(source, target)
    else:
        target.mkdir(parents=True)
    run_in_root(
        ["update-ca-certificates", "--fresh"],
        "trusting the host's CA certificates inside the sid root",
    )
    (root / STAMP).write_text(stamp + "\n")
