"""The sid root's lock: every package of the root, pinned by pool path and sha256.

`sid_root.lock.json` (written by tools/lock_sid_root from a resolved root) lists,
for each Debian architecture, the full closure that mmdebstrap installs: the
Essential set, apt, the packages `sid_root.json` asks for and everything they
depend on. Provisioning fetches exactly those files, from a local directory of
.deb files (`KRUNNER_SID_DEBS`) or by pool path from the Debian mirror, checks
each against its sha256 and builds the root from them alone. No index is read,
so neither its age nor sid dropping a version can stop a fresh machine, and two
machines with the same lock install the same bytes.
"""

from __future__ import annotations

import base64
import concurrent.futures
import dataclasses
import hashlib
import json
import os
import platform
import shutil
import subprocess
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Callable

from bazel_wrapper import debfile
from bazel_wrapper.errors import WrapperError

LOCK_PATH = Path(__file__).with_name("sid_root.lock.json")
LOCK_TOOL = "tools/lock_sid_root"
DEBS_ENV = "KRUNNER_SID_DEBS"
_FIELDS = ("package", "version", "architecture", "filename", "size", "sha256")
_DOWNLOADS = 4  # parallel downloads: enough to fill a link, few enough for any mirror


@dataclasses.dataclass(frozen=True)
class Deb:
    """One pinned package file: what dpkg will record, where the archive keeps it, its hash."""

    package: str
    version: str
    architecture: str
    filename: str  # the pool path, relative to the mirror's root
    size: int
    sha256: str

    @property
    def basename(self) -> str:
        return self.filename.rsplit("/", 1)[-1]


@dataclasses.dataclass(frozen=True)
class SidLock:
    """The parsed lock: the spec it was resolved for, and each architecture's packages."""

    spec_key: str
    architectures: dict[str, tuple[Deb, ...]]

    def debs(self, arch: str) -> tuple[Deb, ...]:
        if arch not in self.architectures:
            have = ", ".join(sorted(self.architectures)) or "none"
            raise WrapperError(
                f"{LOCK_PATH.name} pins no sid root for this machine's architecture {arch} "
                f"(it has: {have}); run {LOCK_TOOL} --arch {arch} on such a machine"
            )
        return self.architectures[arch]

    def root_key(self, arch: str) -> str:
        """A short content hash of one architecture's pins: a changed lock gets a new root."""
        canonical = json.dumps(
            {"spec": self.spec_key, "debs": [dataclasses.asdict(d) for d in self.debs(arch)]},
            sort_keys=True,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def load(path: Path = LOCK_PATH) -> SidLock:
    """Read and check the lock; any defect is a one-line error naming the fix."""
    fix = f"restore it from git or run {LOCK_TOOL}"
    try:
        data = json.loads(path.read_text())
        arches = {}
        for arch, entries in data["architectures"].items():
            debs = []
            for entry in entries:
                deb = Deb(**{k: entry[k] for k in _FIELDS})
                if (
                    not isinstance(deb.size, int)
                    or len(deb.sha256) != 64
                    or not deb.filename.startswith("pool/")
                    or not deb.basename.endswith(".deb")
                    or {"", ".", ".."} & set(deb.filename.split("/"))
                ):
                    raise ValueError(f"bad entry for {deb.package!r}")
                debs.append(deb)
            arches[arch] = tuple(debs)
        return SidLock(spec_key=str(data["spec_key"]), architectures=arches)
    except FileNotFoundError:
        raise WrapperError(f"{path} is missing: {fix}") from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise WrapperError(f"{path} is malformed ({err}): {fix}") from None


def host_arch() -> str:
    """This machine's Debian architecture name (amd64, arm64, ...)."""
    dpkg = shutil.which("dpkg")
    if dpkg:
        out = subprocess.run([dpkg, "--print-architecture"], capture_output=True, text=True)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    machine = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)


def redact(url: str) -> str:
    """`url` without its user information, for messages: no password is ever printed."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urllib.parse.urlunsplit(parts._replace(netloc="***@" + parts.netloc.rsplit("@", 1)[1]))


def _request(url: str) -> urllib.request.Request:
    """A request for `url`, its user information (if any) sent as Basic auth, not in the URL."""
    parts = urllib.parse.urlsplit(url)
    if "@" not in parts.netloc:
        return urllib.request.Request(url)
    userinfo, host = parts.netloc.rsplit("@", 1)
    req = urllib.request.Request(urllib.parse.urlunsplit(parts._replace(netloc=host)))
    token = base64.b64encode(urllib.parse.unquote(userinfo).encode()).decode()
    req.add_header("Authorization", f"Basic {token}")
    return req


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class _Missing(Exception):
    """The mirror has no such file (HTTP 404/410)."""


def _download(url: str, dest: Path) -> None:
    try:
        with urllib.request.urlopen(_request(url), timeout=120) as resp, dest.open("wb") as out:
            shutil.copyfileobj(resp, out, 1 << 20)
    except urllib.error.HTTPError as err:
        if err.code in (404, 410):
            raise _Missing() from None
        raise WrapperError(
            f"the Debian mirror answered HTTP {err.code} for {redact(url)}"
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise WrapperError(
            f"cannot fetch {redact(url)} ({reason}): check the network and the "
            f"mirror (KRUNNER_DEBIAN_MIRROR), or set {DEBS_ENV} to a directory "
            "of the pinned .deb files"
        ) from None


def _local_copy(deb: Deb, local: Path | None) -> Path | None:
    if local is None:
        return None
    for candidate in (local / deb.basename, local / deb.filename):
        if candidate.is_file():
            return candidate
    return None


def _fetch_one(deb: Deb, dest: Path, mirror: str | None, local: Path | None) -> Path:
    target = dest / deb.basename
    if target.is_file() and _sha256(target) == deb.sha256:
        return target  # fetched by an earlier provisioning, and still intact
    partial = target.with_name(target.name + ".part")
    source = _local_copy(deb, local)
    try:
        if source is not None:
            origin = str(source)
            shutil.copyfile(source, partial)
        elif mirror is None:
            raise _Missing()
        else:
            origin = f"{redact(mirror)}/{deb.filename}"
            _download(f"{mirror}/{deb.filename}", partial)
        got = _sha256(partial)
        if got != deb.sha256:
            raise WrapperError(
                f"{deb.package} {deb.version} ({deb.basename}) from {origin} has sha256 {got}, "
                f"but {LOCK_PATH.name} pins {deb.sha256}: refused, as a tampered or corrupted "
                "file. Remove it from its source and run again"
            )
        partial.rename(target)
        return target
    finally:
        partial.unlink(missing_ok=True)


def fetch(
    debs: tuple[Deb, ...],
    dest: Path,
    mirror_of: Callable[[], str | None],
    local: Path | None,
    log: Callable[[str], None],
) -> list[Path]:
    """Every pinned .deb in `dest`, checked against its sha256; one error names what failed.

    Files already in `dest` with the right hash are kept; the rest come from `local`
    (a directory of .deb files, flat or in pool/ layout) or the mirror, which
    `mirror_of` names only when a file must come from it (so a machine with every
    file at hand needs no mirror configured).
    """
    todo = [d for d in debs if not ((dest / d.basename).is_file())]
    mirror = mirror_of() if [d for d in todo if _local_copy(d, local) is None] else None
    if todo:
        total = sum(d.size for d in todo)
        where = (
            f"{local}" + (" and the Debian mirror" if mirror else "")
            if local
            else "the Debian mirror"
        )
        log(
            f"tools/bazel: fetching {len(todo)} pinned .deb files ({total / 1e6:.0f} MB) from {where}."
        )
    missing: list[Deb] = []
    paths: dict[Deb, Path] = {}
    with concurrent.futures.ThreadPoolExecutor(_DOWNLOADS) as pool:
        futures = {pool.submit(_fetch_one, d, dest, mirror, local): d for d in debs}
        for future in concurrent.futures.as_completed(futures):
            deb = futures[future]
            try:
                paths[deb] = future.result()
            except _Missing:
                missing.append(deb)
    if missing:
        first = sorted(missing, key=lambda d: d.package)[0]
        more = f" and {len(missing) - 1} more" if len(missing) > 1 else ""
        raise WrapperError(
            f"the pinned {first.package} {first.version} ({first.filename}){more} is no longer on "
            f"the Debian mirror{f' {redact(mirror)}' if mirror else ''}. Ways out: point "
            "KRUNNER_DEBIAN_MIRROR at a snapshot of the Debian archive that still has it; set "
            f"{DEBS_ENV} to a directory holding the pinned .deb files; or re-resolve the lock "
            f"with {LOCK_TOOL} (a new root, and a new manifest digest)"
        )
    return [paths[d] for d in debs]


def write_repo(repo: Path, debs: tuple[Deb, ...], files: list[Path]) -> str:
    """A flat apt repository in `repo` holding exactly `files`; returns its sources line.

    Its Packages index is made from each file's own control stanza, so it says
    nothing that the sha256-checked bytes do not. It is marked trusted: there is
    no signature to check because nothing in it is taken on trust.
    """
    repo.mkdir()
    stanzas = []
    for deb, path in zip(debs, files, strict=True):
        try:
            control = debfile.control_text(path)
        except debfile.DebError as err:
            raise WrapperError(f"{err}: refused; run {LOCK_TOOL} to re-pin it") from None
        got = debfile.fields(control)
        if (got.get("Package"), got.get("Version"), got.get("Architecture")) != (
            deb.package,
            deb.version,
            deb.architecture,
        ):
            raise WrapperError(
                f"{deb.basename} holds {got.get('Package')} {got.get('Version')} "
                f"{got.get('Architecture')}, not the {deb.package} {deb.version} "
                f"{deb.architecture} {LOCK_PATH.name} names: run {LOCK_TOOL}"
            )
        try:
            os.link(path, repo / deb.basename)
        except OSError:  # another file system: a copy does as well
            shutil.copyfile(path, repo / deb.basename)
        stanzas.append(
            control + f"Filename: ./{deb.basename}\nSize: {deb.size}\nSHA256: {deb.sha256}\n"
        )
    (repo / "Packages").write_text("\n".join(stanzas))
    return f"deb [trusted=yes] copy://{repo} ./"
