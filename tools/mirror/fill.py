"""Fill the offline mirror from Debian's source archive, verifying every file.

For each entry of the sources lock with an `offline` source:
- `identical`: Debian's orig tarball has the upstream bytes. It is stored in
  `distdir/` under the upstream URL's file name, so Bazel's `--distdir` serves it
  and the upstream sha256 is what Bazel checks.
- `substitute`: same files, packed differently. It is stored in
  `substitutes/<repo>/`, checked against its own pinned sha256 and the pinned
  hash of its extracted tree before Bazel ever sees it.

Every verified file gets a marker (marker.py) recording the pins it was checked
against, so a later run rehashes the archive but reuses the tree check only for
the very same pins, and can tell an edited lock from an edited file.

Downloads go to a temporary name and are renamed into place only when verified,
so a failed run leaves no partial file behind. A file already in the mirror that
no longer matches its pin stops the run: something changed it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable

from mirror import marker
from mirror.debian import debian_mirror, redact, with_auth
from mirror.treehash import TreeError, tree_sha256


class MirrorError(Exception):
    """A mirror file is missing, tampered with, or its tree is not the pinned one."""


@dataclasses.dataclass(frozen=True)
class Layout:
    """Where the filled mirror's two halves are."""

    distdir: Path
    substitutes: Path


def sha256_file(path: Path) -> str:
    """The sha256 hex digest of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _download(url: str, target: Path, sha256: str, what: str, earlier: str | None = None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    bare, headers = with_auth(url)
    shown = redact(url)  # a mirror's password is never printed
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(
                    urllib.request.Request(bare, headers=headers), timeout=120
                ) as resp:
                    for chunk in iter(lambda: resp.read(1 << 20), b""):
                        out.write(chunk)
            except (urllib.error.URLError, OSError, ValueError) as err:
                raise MirrorError(
                    f"{what}: cannot download {shown} ({redact(str(err))}). The Debian archive must "
                    "carry this file: check that apt's Debian mirror is reachable, or if Debian "
                    "dropped this version, pin another (README: 'Bumping a pinned version')."
                ) from None
        actual = sha256_file(Path(tmp))
        if actual != sha256 and actual == earlier:
            raise MirrorError(
                f"{what}: third_party/sources.lock.json now pins sha256 {sha256}, but {shown} still "
                f"has sha256 {actual}, the bytes verified under the earlier pin. The lock changed, "
                "not the file: if you edited the pin, restore it; to move to another file, also "
                "change its path in the lock."
            )
        if actual != sha256:
            raise MirrorError(
                f"{what}: {shown} has sha256 {actual}, expected {sha256}. The mirror served other "
                "bytes than were pinned; do not use it. Check the source, or re-pin deliberately "
                "in third_party/sources.lock.json after verifying the new file."
            )
        os.replace(tmp, target)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def ensure_file(
    target: Path, url: str, sha256: str, what: str, log: Callable[[str], None] = print
) -> bool:
    """Make `target` hold the pinned bytes, downloading if absent. True if downloaded.

    A file that no longer matches its pin is told apart by its marker: if it still
    has the sha256 it was verified with, the lock changed and the newly pinned file
    is fetched (and checked) in its place; otherwise the file itself changed, and
    the run stops.
    """
    earlier = marker.read(target).get("sha256")
    if target.exists():
        actual = sha256_file(target)
        if actual == sha256:
            if earlier != sha256:  # verified by an older version, or the marker was lost
                marker.write(target, sha256)
            return False
        if earlier is None:
            raise MirrorError(
                f"{what}: mirror file {target} has sha256 {actual}, expected {sha256}, and no "
                "marker says what it was verified as. Delete it (rm {target}) and run again to "
                "fetch the pinned file.".replace("{target}", str(target))
            )
        if earlier != actual:
            raise MirrorError(
                f"{what}: mirror file {target} has sha256 {actual}, expected {sha256}: it was "
                f"changed after it was verified (as {earlier}). Delete it (rm {target}) and run "
                "again to fetch a fresh copy."
            )
        log(
            f"mirror: {what}: the lock now pins sha256 {sha256[:12]} (the mirror's file was "
            f"verified as {actual[:12]}): fetching the newly pinned file"
        )
        marker.clear(target)
    _download(url, target, sha256, what, earlier)
    marker.write(target, sha256)
    return True


def verify_tree(
    archive: Path, strip_prefix: str, tree: str, what: str, sha256: str | None = None
) -> bool:
    """Check the extracted tree of a substitute against its pinned tree hash.

    The check is remembered in the archive's marker together with the archive's
    sha256, and reused only when both equal the pins: a lock whose archive hash
    was changed to fit other bytes gets those bytes' tree checked again. Returns
    True when the tree was hashed now, False when an earlier check was reused.
    """
    sha256 = sha256 or sha256_file(archive)
    if marker.covers(archive, sha256, tree):
        return False
    try:
        actual = tree_sha256(archive, strip_prefix)
    except TreeError as err:
        raise MirrorError(f"{what}: {err}") from err
    if actual != tree:
        marker.clear(archive)
        raise MirrorError(
            f"{what}: the files in {archive} (tree sha256 {actual}) are not the pinned tree "
            f"{tree}; it is not the substitute that was reviewed. Delete it (rm {archive}) and "
            "run again; if it persists, compare trees with `python3 tools/mirror treehash`."
        )
    marker.write(archive, sha256, tree)
    return True


def fill(
    lock_path: Path, dest: Path, log: Callable[[str], None] = print, debian_base: str | None = None
) -> Layout:
    """Fill `dest` for every offline-capable entry of the lock; returns its layout."""
    lock = json.loads(Path(lock_path).read_text())
    layout = Layout(distdir=dest / "distdir", substitutes=dest / "substitutes")
    layout.distdir.mkdir(parents=True, exist_ok=True)
    layout.substitutes.mkdir(parents=True, exist_ok=True)
    base = None
    reused: list[str] = []
    for name, entry in sorted(lock["archives"].items()):
        offline = entry.get("offline") or {}
        what = f"{name} {entry['version']}"
        if offline.get("identical"):
            base = base or debian_base or debian_mirror()
            target = layout.distdir / entry["urls"][0].rsplit("/", 1)[-1]
            if ensure_file(target, f"{base}/{offline['debian_path']}", entry["sha256"], what, log):
                log(
                    f"mirror: {what}: upstream bytes (sha256 {entry['sha256'][:12]}) "
                    f"fetched from Debian {offline['debian_path']}"
                )
        elif offline.get("substitute"):
            sub = offline["substitute"]
            base = base or debian_base or debian_mirror()
            target = layout.substitutes / name / sub["debian_path"].rsplit("/", 1)[-1]
            ensure_file(target, f"{base}/{sub['debian_path']}", sub["sha256"], what, log)
            if verify_tree(target, sub["strip_prefix"], sub["tree_sha256"], what, sub["sha256"]):
                log(
                    f"mirror: {what}: using SUBSTITUTE {target.name} from Debian, not the upstream "
                    f"archive ({sub['differs']}); sha256 and tree verified"
                )
            else:
                reused.append(f"{name} {entry['version']}")
    if reused:  # one line per build, not one per substitute, once they were announced
        log(
            f"mirror: using SUBSTITUTES, not the upstream archives, for {', '.join(reused)} "
            "(sha256 checked now, trees verified earlier against the same pins; "
            "each repository's PROVENANCE.json names its artifact)"
        )
    return layout
