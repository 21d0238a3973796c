"""Provision the pinned Debian sid root that runs Debian's bazel-bootstrap 7.7.1.

Debian's Bazel needs a newer glibc than the hosts we run on, so it lives in a sid
root made by mmdebstrap. Every package of that root is pinned by sha256 in
`sid_root.lock.json` (sid_lock.py): the .deb files are fetched and checked, and
mmdebstrap installs from a local repository holding only them, so no Debian
index is read and the root is a function of the lock. The root is keyed by a
hash of the lock, built under a lock file into a `.partial` directory and
renamed into place only when complete, so concurrent first calls wait for one
another and a failed provisioning leaves nothing half-made behind. mmdebstrap
runs tied to the caller (tied.py): a killed call takes its whole process tree
with it, and holds the lock until that tree is gone. What the root holds is
recorded as its manifest (manifest.py), the root's identity.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from mirror.debian import NoDebianMirror, debian_mirror

from bazel_wrapper import ca_trust, diagnose, manifest, namespace, sid_lock, tied, trust
from bazel_wrapper.errors import WrapperError

SPEC_PATH = Path(__file__).with_name("sid_root.json")
READY_MARKER = ".krunner-root-ready"
# What the root's apt sources say: it was built from pinned files, not from an archive.
SOURCES_NOTE = (
    "# This root was built by tools/bazel from the .deb files pinned in "
    "tools/bazel_wrapper/sid_root.lock.json; it has no apt source.\n"
)


@dataclasses.dataclass(frozen=True)
class RootSpec:
    """What goes into the sid root: suite, mmdebstrap variant and packages."""

    suite: str
    variant: str
    pinned: dict[str, str]
    unpinned: tuple[str, ...]

    def key(self) -> str:
        """A short content hash: a changed spec gets a fresh root beside the old."""
        canonical = json.dumps(dataclasses.asdict(self), sort_keys=True)
        return hashlib.sha256(canonical.encode()).hexdigest()[:16]

    def include(self) -> str:
        """The mmdebstrap --include value, with apt's `name=version` pins."""
        return ",".join(
            [f"{n}={v}" for n, v in sorted(self.pinned.items())] + sorted(self.unpinned)
        )


def load_spec(path: Path = SPEC_PATH) -> RootSpec:
    """Read `sid_root.json`."""
    data = json.loads(path.read_text())
    return RootSpec(
        suite=data["suite"],
        variant=data["variant"],
        pinned=dict(data["pinned"]),
        unpinned=tuple(data["unpinned"]),
    )


def cache_dir() -> Path:
    """Where roots, Bazel's output and the offline mirror live (never the repo)."""
    # Absolute but not resolved: a symlink in the path is checked as a link (trust.py),
    # so one planted by another user is refused rather than silently followed.
    if os.environ.get("KRUNNER_CACHE"):
        return Path(os.path.abspath(os.environ["KRUNNER_CACHE"]))
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(os.path.abspath(base)) / "krunner-bazel"


def _ready(root: Path) -> bool:
    """True when `root` is a finished root, after checking who could have written it."""
    marker = root / READY_MARKER
    if not marker.exists():
        return False
    trust.check_path(marker, "sid root's ready marker")
    return True


def _lock(roots: Path, key: str):
    """Take the provisioning lock of `key` (waiting, and saying so, if it is held)."""
    lock = open(roots / f"{key}.lock", "a")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(
            "tools/bazel: another call is provisioning or updating the sid root; waiting.",
            file=sys.stderr,
        )
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def ensure_root(spec: RootSpec, cache: Path, lock: sid_lock.SidLock | None = None) -> Path:
    """Return the ready root for `spec`, provisioning it first from the lock if needed.

    Refuses a cache or root that another user could have written (trust.py), a
    lock resolved for another spec, and brings the root's copy of the host's CAs
    up to date (ca_trust.py).
    """
    trust.mask_group_writes()  # what is made here must pass _ready's check next time
    lock = lock if lock is not None else sid_lock.load()
    if lock.spec_key != spec.key():
        raise WrapperError(
            f"{SPEC_PATH.name} changed since {sid_lock.LOCK_PATH.name} was made: "
            f"run {sid_lock.LOCK_TOOL} to pin the packages of the new root"
        )
    debs = lock.debs(sid_lock.host_arch())
    trust.private_dir(cache, "cache directory")
    roots = trust.private_dir(cache / "roots", "sid roots directory")
    root = root_path(cache, lock)
    key = root.name
    if _ready(root) and ca_trust.is_current(root):
        return root
    with _lock(roots, key) as lock_file:
        if not _ready(root):
            _provision(
                spec,
                debs,
                root,
                trust.private_dir(cache / "debs", "pinned .deb files"),
                lock_file.fileno(),
            )
        elif not ca_trust.is_current(root):
            print(
                "tools/bazel: the host's CA certificates changed; updating the sid root's.",
                file=sys.stderr,
            )
            ca_trust.refresh(root, lambda argv, what: _run_in_root(root, argv, what))
    return root


def root_path(cache: Path, lock: sid_lock.SidLock | None = None) -> Path:
    """Where the root of this machine's architecture lives: keyed by the lock's pins."""
    lock = lock if lock is not None else sid_lock.load()
    return cache / "roots" / lock.root_key(sid_lock.host_arch())


def work_dirs(root: Path) -> tuple[Path, Path]:
    """The `.partial` root being built and the `.tmp` scratch directory beside it.

    Both live under the cache, never in /tmp: a killed call leaves them where the
    next call, holding the lock, finds and removes them.
    """
    return root.with_name(root.name + ".partial"), root.with_name(root.name + ".tmp")


def _provision(
    spec: RootSpec, debs: tuple[sid_lock.Deb, ...], root: Path, deb_dir: Path, lock_fd: int
) -> None:
    partial, scratch = work_dirs(root)
    for leftover in (partial, scratch, root):  # from a call that was killed
        _remove_tree(leftover)
    print(
        f"tools/bazel: provisioning Bazel {spec.pinned['bazel-bootstrap']} in a Debian "
        f"{spec.suite} root at {root} from {len(debs)} pinned packages (once; about a "
        f"minute, {diagnose.ROOT_BYTES / 1e9:.1f} GB).",
        file=sys.stderr,
    )
    try:
        scratch.mkdir(mode=0o700)
        files = sid_lock.fetch(
            debs, deb_dir, _mirror_or_none, _local_debs(), log=lambda m: print(m, file=sys.stderr)
        )
        source = sid_lock.write_repo(scratch / "repo", debs, files)
        _mmdebstrap(spec, source, partial, scratch, lock_fd)
        (partial / "etc/apt/sources.list").write_text(SOURCES_NOTE)
        ca_trust.refresh(partial, lambda argv, what: _run_in_root(partial, argv, what))
        _check_pins(spec, partial)
        _check_lock(debs, partial)
        digest = manifest.record(partial)
        (partial / READY_MARKER).write_text(
            json.dumps({"spec": dataclasses.asdict(spec), "manifest_sha256": digest}, indent=1)
            + "\n"
        )
        os.chmod(partial / READY_MARKER, 0o644)  # whatever the umask: _ready checks it
        partial.rename(root)
    except BaseException:
        _remove_tree(partial)
        raise
    finally:
        _remove_tree(scratch)


def _mirror_or_none() -> str | None:
    """The Debian mirror to fetch pinned files from; None when only KRUNNER_SID_DEBS may serve."""
    try:
        return debian_mirror()
    except NoDebianMirror as err:
        if _local_debs() is None:
            raise WrapperError(
                f"{err}, or set {sid_lock.DEBS_ENV} to a directory of the pinned .deb files"
            ) from err
        return None


def _local_debs() -> Path | None:
    """KRUNNER_SID_DEBS: a directory of .deb files (flat, or a mirror's pool/ tree)."""
    value = os.environ.get(sid_lock.DEBS_ENV)
    if not value:
        return None
    path = Path(value)
    if not path.is_dir():
        raise WrapperError(
            f"{sid_lock.DEBS_ENV}={value} is not a directory: point it at a "
            "directory of the pinned .deb files, or unset it"
        )
    return path


def _mmdebstrap(spec: RootSpec, source: str, target: Path, scratch: Path, lock_fd: int) -> None:
    exe = shutil.which("mmdebstrap")
    if exe is None:
        if os.geteuid() != 0:
            raise WrapperError(
                "mmdebstrap is missing: install it (sudo apt-get install mmdebstrap) "
                "and run tools/bazel again"
            )
        print("tools/bazel: installing mmdebstrap from Debian.", file=sys.stderr)
        for cmd in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "-qq", "mmdebstrap", "uidmap"],
        ):
            _run(cmd, "installing mmdebstrap")
        exe = shutil.which("mmdebstrap") or "mmdebstrap"
    privileged = os.geteuid() == 0
    # Unprivileged mmdebstrap writes subuid-owned files; a tarball extracted by the
    # caller gives a root the caller owns and its user namespace maps to 0.
    output = str(target) if privileged else str(scratch / "root.tar")
    cmd = [
        exe,
        f"--mode={'root' if privileged else 'unshare'}",
        f"--variant={spec.variant}",
        f"--include={spec.include()}",
        "--quiet",
        spec.suite,
        output,
        source,
    ]
    # TMPDIR: mmdebstrap's own scratch files go under the cache too, never /tmp.
    tmpdir = scratch
    if not privileged:
        # Unshared, mmdebstrap works as the first subuid, not as the caller: it must
        # traverse the scratch directory (to read the local repository) and create its
        # own directories in TMPDIR, which is made sticky and world-writable as /tmp
        # is, inside a directory that others can traverse but not list.
        os.chmod(scratch, 0o711)
        tmpdir = scratch / "tmp"
        tmpdir.mkdir()
        os.chmod(tmpdir, 0o1777)
    proc = tied.run(["env", f"TMPDIR={tmpdir}", *cmd], keep_fds=(lock_fd,))
    if proc.returncode != 0:
        raise WrapperError(
            diagnose.explain(
                proc.returncode,
                proc.stdout,
                lock_path=sid_lock.LOCK_PATH,
                suite=spec.suite,
                disk=target.parent,
                privileged=privileged,
            )
        )
    if not privileged:
        target.mkdir(parents=True)
        _run(
            ["tar", "-xf", output, "-C", str(target), "--no-same-owner", "--exclude=./dev/*"],
            "unpacking the sid root",
        )


def _run_in_root(root: Path, argv: list[str], what: str) -> None:
    _run(namespace.enter_command(root, cwd=Path("/"), binds=[], argv=argv, env={}), what)


def _check_pins(spec: RootSpec, root: Path) -> None:
    installed = {name: version for name, (version, _arch) in manifest.installed(root).items()}
    wrong = {n: (v, installed.get(n)) for n, v in spec.pinned.items() if installed.get(n) != v}
    if wrong:
        lines = ", ".join(
            f"{n}: pinned {want}, got {got}" for n, (want, got) in sorted(wrong.items())
        )
        raise WrapperError(f"the sid root does not match {SPEC_PATH}: {lines}")


def _check_lock(debs: tuple[sid_lock.Deb, ...], root: Path) -> None:
    """The root must hold exactly the locked packages: then its manifest is the lock's."""
    installed = {(n, v, a) for n, (v, a) in manifest.installed(root).items()}
    locked = {(d.package, d.version, d.architecture) for d in debs}
    if installed != locked:
        extra = sorted(f"{n} {v}" for n, v, _ in installed - locked)
        unused = sorted(f"{n} {v}" for n, v, _ in locked - installed)
        raise WrapperError(
            f"the sid root does not match {sid_lock.LOCK_PATH.name} (installed but "
            f"not pinned: {extra or 'none'}; pinned but not installed: "
            f"{unused or 'none'}): run {sid_lock.LOCK_TOOL}"
        )


def _run(cmd: list[str], what: str) -> None:
    proc = tied.run(cmd)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise WrapperError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _remove_tree(path: Path) -> None:
    if path.exists() or path.is_symlink():
        # --one-file-system: never follow a stray mount into the host.
        subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)
