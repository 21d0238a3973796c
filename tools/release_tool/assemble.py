"""The release's checks and its output directory, given the built files.

tools/release runs `main` through `tools/bazel run //tools:release_check` (so the
wheels, the volumes, twine and pip are the built and pinned ones), and
//tests/release runs `check` and `write` on the same files before uploading them
to a local index. The checks, in order:

- the volume lock: no volume or wheel has new bytes under a locked number;
- each wheel's RECORD (every member, hash and size) and tags (file name, WHEEL,
  METADATA, one architecture);
- `twine check --strict`, as PyPI's upload checks the metadata;
- pip installs each wheel into an empty directory (`--platform` for a wheel not
  for this machine), and every file arrives with its bytes.

The output holds the wheels, each wheel's SBOM as `<wheel name>.cdx.json`,
PROVENANCE.txt (commit, sources lock digest, sid root manifest digest, each file's
sha256) and SHA256SUMS over all of them. It is written to a temporary sibling and
renamed into place, so a failed release leaves no partial directory.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from volume_lock import distros_file, lock

from release_tool import wheel_checks


class ReleaseError(Exception):
    """A release that must not be published; the message is one line."""


def python_env() -> dict[str, str]:
    """This process's environment with its import path, for twine and pip in a child."""
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
    }


def check_lock(
    lock_path: Path, distros_bzl: Path, volumes: list[Path], wheels: list[Path]
) -> dict[str, lock.Distro]:
    """The built volumes and krunner wheels against the volume lock; the built state."""
    versions = distros_file.read(distros_bzl.read_text())
    by_distribution = {v.distribution: name for name, v in versions.items()}
    vols, whls = {}, {}
    for name in versions:
        for v in volumes:
            if v.name.startswith(f"{name}_volume_") and v.name.endswith(".tar.xz"):
                vols[(name, v.name.removeprefix(f"{name}_volume_").removesuffix(".tar.xz"))] = v
    for w in wheels:
        name = by_distribution.get(wheel_checks.metadata(w)[0])
        if name is not None:  # a publishable wheel that carries no volume has no lock entry
            whls[(name, wheel_checks.arch_of(w))] = w
    now = lock.built(
        {
            n: (v.distro_key, v.distribution, v.version, v.volume_version)
            for n, v in versions.items()
        },
        volumes=vols,
        wheels=whls,
    )
    found = lock.problems(lock.load(lock_path), now)
    if found:
        raise ReleaseError(
            f"the volume lock disagrees with the build: {found[0]}"
            + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
        )
    return now


def check_wheels(wheels: list[Path]) -> None:
    """RECORD and tags of every wheel."""
    for w in wheels:
        found = wheel_checks.record_problems(w) + wheel_checks.tag_problems(w)
        if found:
            raise ReleaseError(
                found[0] + (f" (and {len(found) - 1} more)" if len(found) > 1 else "")
            )


def twine_check(files: list[Path]) -> None:
    """`twine check --strict` on the wheels (the pinned twine, in a child process)."""
    proc = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, files)],
        env=python_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        lines = [
            ln.strip()
            for ln in (proc.stdout + proc.stderr).splitlines()
            if "FAILED" in ln or "ERROR" in ln
        ]
        raise ReleaseError(f"twine check --strict failed: {lines[0] if lines else proc.returncode}")


def pip_install(wheel: Path, target: Path, extra: list[str] | None = None) -> None:
    """pip installs `wheel` into `target`, as a host of its architecture would."""
    arch = wheel_checks.arch_of(wheel)
    machine = {"arm64": "aarch64", "amd64": "x86_64"}.get(
        platform.machine().lower(), platform.machine()
    )
    platform_args = []
    if arch != machine:  # not this machine's: pip checks the tags against named platforms
        plats = wheel.name.removesuffix(".whl").split("-")[-1].split(".")
        platform_args = [
            "--only-binary=:all:",
            *[
                a
                for p in plats
                if p.startswith(("manylinux", "musllinux"))
                for a in ("--platform", p)
            ],
        ]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "--no-cache-dir",
            "--target",
            str(target),
            *platform_args,
            *(extra or []),
            str(wheel),
        ],
        env=python_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or [str(proc.returncode)])[-1]
        raise ReleaseError(f"pip could not install {wheel.name}: {last}")
    found = wheel_checks.installed_problems(wheel, target)
    if found:
        raise ReleaseError(found[0])


def check(
    lock_path: Path, distros_bzl: Path, volumes: list[Path], wheels: list[Path], scratch: Path
) -> dict[str, lock.Distro]:
    """Every check, in order; the built state of the locked distros."""
    names = [w.name for w in wheels]
    if len(set(names)) != len(names):
        raise ReleaseError("two publishable wheels have one file name: " + ", ".join(sorted(names)))
    now = check_lock(lock_path, distros_bzl, volumes, wheels)
    check_wheels(wheels)
    twine_check(wheels)
    for w in wheels:
        pip_install(w, Path(tempfile.mkdtemp(dir=scratch)))
    return now


def sha256_of(path: Path) -> str:
    return lock.sha256_of(path)


def write(
    out: Path, wheels: list[Path], provenance: dict[str, str], now: dict[str, lock.Distro]
) -> None:
    """The release directory: wheels, SBOMs, PROVENANCE.txt, SHA256SUMS; all or nothing."""
    if out.exists() and not out.is_dir():
        raise ReleaseError(f"{out} is not a directory: choose another --out")
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty: remove it or choose another --out")
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for w in wheels:
            shutil.copyfile(w, stage / w.name)
            bom = wheel_checks.sbom(w)
            if bom is not None:
                (stage / (w.name.removesuffix(".whl") + ".cdx.json")).write_bytes(bom)
        volumes = {
            wheel_file: f"volume {d.distro_key} v{d.volume_version} {arch} sha256 {d.volumes[arch]}"
            for d in now.values()
            for arch, (wheel_file, _) in d.wheels.items()
        }
        lines = ["krunner release", *(f"{k}: {v}" for k, v in provenance.items()), "files:"]
        lines += [
            f"  {w.name} sha256 {sha256_of(stage / w.name)}"
            + (f" ({volumes[w.name]})" if w.name in volumes else "")
            for w in sorted(wheels)
        ]
        (stage / "PROVENANCE.txt").write_text("\n".join(lines) + "\n")
        files = sorted(p.name for p in stage.iterdir())
        (stage / "SHA256SUMS").write_text("".join(f"{sha256_of(stage / f)}  {f}\n" for f in files))
        for p in stage.iterdir():
            p.chmod(0o644)
        stage.chmod(0o755)
        if out.exists():
            out.rmdir()
        stage.rename(out)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise


def main(argv: list[str]) -> int:
    """Check the built files and write the release directory; returns the exit status."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--out",
        required=True,
        type=Path,
        help="the release directory to write (absolute, or from the caller's directory)",
    )
    p.add_argument("--commit", required=True, help="the git commit the files were built from")
    p.add_argument(
        "--sid-root-manifest",
        required=True,
        help="the sid root's manifest digest (tools/bazel version)",
    )
    p.add_argument("--lock", required=True, type=Path, help="krunner/volumes.lock.json")
    p.add_argument("--distros", required=True, type=Path, help="krunner/distros.bzl")
    p.add_argument("--sources-lock", required=True, type=Path, help="third_party/sources.lock.json")
    p.add_argument("--volumes", nargs="+", required=True, type=Path, help="the built volumes")
    p.add_argument("--wheels", nargs="+", required=True, type=Path, help="the publishable wheels")
    args = p.parse_args(argv)
    out = Path(os.environ.get("BUILD_WORKING_DIRECTORY", "."), args.out).resolve()
    try:
        with tempfile.TemporaryDirectory(prefix="release-check-") as scratch:
            now = check(args.lock, args.distros, args.volumes, args.wheels, Path(scratch))
        provenance = {
            "commit": args.commit,
            "sources lock": f"third_party/sources.lock.json sha256 {sha256_of(args.sources_lock)}",
            "sid root manifest": f"sha256 {args.sid_root_manifest}",
            "volume lock": f"krunner/volumes.lock.json sha256 {sha256_of(args.lock)}",
        }
        write(out, args.wheels, provenance, now)
    except (ReleaseError, lock.LockError, ValueError, OSError) as err:
        print(f"release: error: {err}", file=sys.stderr)
        return 1
    print(
        f"release: checked and wrote {len(args.wheels)} wheels, their SBOMs, PROVENANCE.txt and SHA256SUMS"
    )
    return 0
