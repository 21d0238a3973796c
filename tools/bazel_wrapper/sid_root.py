"""Provision the pinned Debian sid root that runs Debian's bazel-bootstrap 7.7.1.

Debian's Bazel needs a newer glibc than the hosts we run on, so it lives in a sid
root made by mmdebstrap from the machine's own Debian mirror. The root is keyed by
a hash of `sid_root.json`, built under a lock into a `.partial` directory and
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

from bazel_wrapper import ca_trust, diagnose, manifest, namespace, tied, trust
from bazel_wrapper.errors import WrapperError
from mirror.debian import NoDebianMirror, debian_mirror

SPEC_PATH = Path(__file__).with_name("sid_root.json")
READY_MARKER = ".krunner-root-ready"
DEFAULT_MAX_AGE_DAYS = 90


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
        print("tools/bazel: another call is provisioning or updating the sid root; waiting.",
              file=sys.stderr)
        fcntl.flock(lock, fcntl.LOCK_EX)
    return lock


def ensure_root(spec: RootSpec, cache: Path) -> Path:
    """Return the ready root for `spec`, provisioning it first if needed.

    Refuses a cache or root that another user could have written (trust.py), and
    brings the root's copy of the host's CAs up to date (ca_trust.py).
    """
    trust.mask_group_writes()  # what is made here must pass _ready's check next time
    trust.private_dir(cache, "cache directory")
    roots = trust.private_dir(cache / "roots", "sid roots directory")
    root = roots / spec.key()
    if _ready(root) and ca_trust.is_current(root):
        return root
    with _lock(roots, spec.key()) as lock:
        if not _ready(root):
            _provision(spec, root, lock.fileno())
        elif not ca_trust.is_current(root):
            print("tools/bazel: the host's CA certificates changed; updating the sid root's.",
                  file=sys.stderr)
            ca_trust.refresh(root, lambda argv, what: _run_in_root(root, argv, what))
    return root


def work_dirs(root: Path) -> tuple[Path, Path]:
    """The `.partial` root being built and the `.tmp` scratch directory beside it.

    Both live under the cache, never in /tmp: a killed call leaves them where the
    next call, holding the lock, finds and removes them.
    """
    return root.with_name(root.name + ".partial"), root.with_name(root.name + ".tmp")


def _provision(spec: RootSpec, root: Path, lock_fd: int) -> None:
    partial, scratch = work_dirs(root)
    for leftover in (partial, scratch, root):  # from a call that was killed
        _remove_tree(leftover)
    print(f"tools/bazel: provisioning Bazel {spec.pinned['bazel-bootstrap']} in a Debian "
          f"{spec.suite} root at {root} (once; about a minute, "
          f"{diagnose.ROOT_BYTES / 1e9:.1f} GB).", file=sys.stderr)
    try:
        scratch.mkdir(mode=0o700)
        _mmdebstrap(spec, partial, scratch, lock_fd)
        ca_trust.refresh(partial, lambda argv, what: _run_in_root(partial, argv, what))
        _check_pins(spec, partial)
        digest = manifest.record(partial)
        (partial / READY_MARKER).write_text(json.dumps(
            {"spec": dataclasses.asdict(spec), "manifest_sha256": digest}, indent=1) + "\n")
        os.chmod(partial / READY_MARKER, 0o644)  # whatever the umask: _ready checks it
        partial.rename(root)
    except BaseException:
        _remove_tree(partial)
        raise
    finally:
        _remove_tree(scratch)


def apt_options(env: dict[str, str]) -> list[str]:
    """mmdebstrap's --aptopt values: check the index's Valid-Until, with a bounded grace.

    A mirror that is a snapshot serves an index past its Valid-Until. Turning the
    check off would accept any old, validly signed index, so an index is accepted
    until KRUNNER_APT_MAX_AGE_DAYS (default 90) days after its Date, and no longer.
    """
    raw = env.get("KRUNNER_APT_MAX_AGE_DAYS", str(DEFAULT_MAX_AGE_DAYS))
    try:
        days = int(raw)
        if days < 0:
            raise ValueError
    except ValueError:
        raise WrapperError(f"KRUNNER_APT_MAX_AGE_DAYS={raw!r} is not a number of days; "
                           f"unset it for the default ({DEFAULT_MAX_AGE_DAYS})") from None
    return ['Acquire::Check-Valid-Until "true"', f'Acquire::Min-ValidTime "{days * 86400}"']


def _mmdebstrap(spec: RootSpec, target: Path, scratch: Path, lock_fd: int) -> None:
    exe = shutil.which("mmdebstrap")
    if exe is None:
        if os.geteuid() != 0:
            raise WrapperError("mmdebstrap is missing: install it (sudo apt-get install mmdebstrap) "
                               "and run tools/bazel again")
        print("tools/bazel: installing mmdebstrap from Debian.", file=sys.stderr)
        for cmd in (["apt-get", "update", "-qq"],
                    ["apt-get", "install", "-y", "-qq", "mmdebstrap", "uidmap"]):
            _run(cmd, "installing mmdebstrap")
        exe = shutil.which("mmdebstrap") or "mmdebstrap"
    privileged = os.geteuid() == 0
    try:
        mirror = debian_mirror()
    except NoDebianMirror as err:
        raise WrapperError(str(err)) from err
    # Unprivileged mmdebstrap writes subuid-owned files; a tarball extracted by the
    # caller gives a root the caller owns and its user namespace maps to 0.
    output = str(target) if privileged else str(scratch / "root.tar")
    cmd = [exe, f"--mode={'root' if privileged else 'unshare'}", f"--variant={spec.variant}",
           *[f"--aptopt={o}" for o in apt_options(dict(os.environ))],
           f"--include={spec.include()}", "--quiet", spec.suite, output, mirror]
    # TMPDIR: mmdebstrap's own scratch files go under the cache too, never /tmp.
    proc = tied.run(["env", f"TMPDIR={scratch}", *cmd], keep_fds=(lock_fd,))
    if proc.returncode != 0:
        raise WrapperError(diagnose.explain(
            proc.returncode, proc.stdout, spec_path=SPEC_PATH, suite=spec.suite,
            disk=target.parent, mirror=mirror, privileged=privileged))
    if not privileged:
        target.mkdir(parents=True)
        _run(["tar", "-xf", output, "-C", str(target), "--no-same-owner", "--exclude=./dev/*"],
             "unpacking the sid root")


def _run_in_root(root: Path, argv: list[str], what: str) -> None:
    _run(namespace.enter_command(root, cwd=Path("/"), binds=[], argv=argv, env={}), what)


def _check_pins(spec: RootSpec, root: Path) -> None:
    installed = {name: version for name, (version, _arch) in manifest.installed(root).items()}
    wrong = {n: (v, installed.get(n)) for n, v in spec.pinned.items() if installed.get(n) != v}
    if wrong:
        lines = ", ".join(f"{n}: pinned {want}, got {got}" for n, (want, got) in sorted(wrong.items()))
        raise WrapperError(f"the sid root does not match {SPEC_PATH}: {lines}")


def _run(cmd: list[str], what: str) -> None:
    proc = tied.run(cmd)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise WrapperError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _remove_tree(path: Path) -> None:
    if path.exists() or path.is_symlink():
        # --one-file-system: never follow a stray mount into the host.
        subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)
