"""Provision the pinned Debian sid root that runs Debian's bazel-bootstrap 7.7.1.

Debian's Bazel needs a newer glibc than the hosts we run on, so it lives in a sid
root made by mmdebstrap from the machine's own Debian mirror. The root is keyed by
a hash of `sid_root.json`, built under a lock into a `.partial` directory and
renamed into place only when complete, so concurrent first calls wait for one
another and a failed provisioning leaves nothing half-made behind.
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
import tempfile
from pathlib import Path

from bazel_wrapper import namespace
from bazel_wrapper.errors import WrapperError
from mirror.debian import NoDebianMirror, debian_mirror

SPEC_PATH = Path(__file__).with_name("sid_root.json")
READY_MARKER = ".krunner-root-ready"


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
    if os.environ.get("KRUNNER_CACHE"):
        return Path(os.environ["KRUNNER_CACHE"]).resolve()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base).resolve() / "krunner-bazel"


def ensure_root(spec: RootSpec, cache: Path) -> Path:
    """Return the ready root for `spec`, provisioning it first if needed."""
    root = cache / "roots" / spec.key()
    if (root / READY_MARKER).exists():
        return root
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{spec.key()}.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("tools/bazel: another call is provisioning the sid root; waiting.", file=sys.stderr)
            fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / READY_MARKER).exists():
            _provision(spec, root)
    return root


def _provision(spec: RootSpec, root: Path) -> None:
    partial = root.with_name(root.name + ".partial")
    _remove_tree(partial)
    _remove_tree(root)
    print(f"tools/bazel: provisioning Bazel {spec.pinned['bazel-bootstrap']} in a Debian "
          f"{spec.suite} root at {root} (once; about a minute).", file=sys.stderr)
    try:
        _mmdebstrap(spec, partial)
        _trust_host_cas(partial)
        _check_pins(spec, partial)
        (partial / READY_MARKER).write_text(json.dumps(dataclasses.asdict(spec), indent=1) + "\n")
        partial.rename(root)
    except BaseException:
        _remove_tree(partial)
        raise


def _mmdebstrap(spec: RootSpec, target: Path) -> None:
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
    with tempfile.TemporaryDirectory(prefix="krunner-root-") as tmp:
        # Unprivileged mmdebstrap writes subuid-owned files; a tarball extracted
        # by the caller gives a root the caller owns and its user namespace maps to 0.
        output = str(target) if privileged else os.path.join(tmp, "root.tar")
        cmd = [exe, f"--mode={'root' if privileged else 'unshare'}", f"--variant={spec.variant}",
               "--aptopt=Acquire::Check-Valid-Until \"false\"", f"--include={spec.include()}",
               "--quiet", spec.suite, output, mirror]
        _run(cmd, f"building the Debian {spec.suite} root (is {spec.include()} still in {spec.suite}? "
                  f"If a pinned version is gone, bump it in {SPEC_PATH})")
        if not privileged:
            target.mkdir(parents=True)
            _run(["tar", "-xf", output, "-C", str(target), "--no-same-owner", "--exclude=./dev/*"],
                 "unpacking the sid root")


def _trust_host_cas(root: Path) -> None:
    """Bazel's Java must trust the same CAs as the host to download through its proxy."""
    src = Path("/usr/local/share/ca-certificates")
    if src.is_dir():
        shutil.copytree(src, root / "usr/local/share/ca-certificates", dirs_exist_ok=True)
    cmd = namespace.enter_command(root, cwd=Path("/"), binds=[],
                                  argv=["update-ca-certificates", "--fresh"], env={})
    _run(cmd, "trusting the host's CA certificates inside the sid root")


def _check_pins(spec: RootSpec, root: Path) -> None:
    status = (root / "var/lib/dpkg/status").read_text()
    installed = {}
    for stanza in status.split("\n\n"):
        fields = dict(l.split(": ", 1) for l in stanza.splitlines() if ": " in l and not l.startswith(" "))
        if "install ok installed" in fields.get("Status", ""):
            installed[fields["Package"]] = fields.get("Version")
    wrong = {n: (v, installed.get(n)) for n, v in spec.pinned.items() if installed.get(n) != v}
    if wrong:
        lines = ", ".join(f"{n}: pinned {want}, got {got}" for n, (want, got) in sorted(wrong.items()))
        raise WrapperError(f"the sid root does not match {SPEC_PATH}: {lines}")


def _run(cmd: list[str], what: str) -> None:
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise WrapperError(f"{what} failed (exit {proc.returncode}):\n{tail}")


def _remove_tree(path: Path) -> None:
    if path.exists() or path.is_symlink():
        # --one-file-system: never follow a stray mount into the host.
        subprocess.run(["rm", "-rf", "--one-file-system", str(path)], check=False)
