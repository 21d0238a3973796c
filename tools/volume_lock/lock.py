"""The volume lock (krunner/volumes.lock.json): what each published volume number holds.

The agent names a host's extracted volume `backendai-krunner.v<N>.<arch>.<distro key>`
and reuses any volume of that name (`prepare_krunner_env` checks only that it
exists). So a host that extracted vN keeps it until the wheel says vN+1: the volume
version must go up exactly when a volume's bytes change. PyPI never replaces a file,
so a changed wheel needs a new package version the same way.

The lock records, per distro, the volume version and package version with the
sha256 of each arch's volume and wheel. `problems` compares it with a build; the
test (//tests/volume_lock), tools/bump_volume and tools/release all use it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

LOCK_PATH = "krunner/volumes.lock.json"
BUMP_COMMAND = "tools/bump_volume"
_DOC = (
    "Written by tools/bump_volume; checked by //tests/volume_lock and tools/release. "
    "For each distro (krunner/distros.bzl): the volume_version and the sha256 of the "
    "volume it names on each arch, and the package version with each arch's wheel. "
    "A volume's bytes may change only with a higher volume_version (hosts reuse "
    "backendai-krunner.v<N>.<arch>.<key> by name), a wheel's only with a higher version "
    "(PyPI never replaces a file). Do not edit by hand: run tools/bump_volume."
)


class LockError(Exception):
    """A lock or a build that breaks the rule; the message is one line."""


@dataclasses.dataclass(frozen=True)
class Distro:
    """One distro as built (or as locked): its versions and each arch's file hashes."""

    distro_key: str
    distribution: str
    version: str
    volume_version: int
    volumes: dict[str, str]  # arch -> sha256
    wheels: dict[str, tuple[str, str]]  # arch -> (file name, sha256)


def sha256_of(path: Path) -> str:
    """The file's sha256, read in blocks (volumes are tens of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def version_key(version: str) -> tuple[int, ...]:
    """A release version (X.Y.Z, digits only, as distros.bzl writes them) as a sortable tuple."""
    parts = version.split(".")
    if not all(p.isdigit() for p in parts):
        raise LockError(
            f"version {version!r} is not dotted digits (X.Y.Z): fix it in krunner/distros.bzl"
        )
    return tuple(int(p) for p in parts)


def bump_version(version: str, part: str) -> str:
    """`version` with its minor (X.Y+1.0) or patch (X.Y.Z+1) number raised."""
    major, minor, *rest = version_key(version) + (0,)
    patch = rest[0]
    if part == "minor":
        return f"{major}.{minor + 1}.0"
    return f"{major}.{minor}.{patch + 1}"


def load(path: Path) -> dict[str, Distro]:
    """The lock at `path`, by distro name; {} if there is none yet."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise LockError(
            f"{path}: unreadable ({err}): restore it from git, or run {BUMP_COMMAND}"
        ) from None
    try:
        return {
            name: Distro(
                distro_key=e["distro_key"],
                distribution=e["distribution"],
                version=e["version"],
                volume_version=int(e["volume_version"]),
                volumes={arch: v["sha256"] for arch, v in e["volumes"].items()},
                wheels={arch: (w["filename"], w["sha256"]) for arch, w in e["wheels"].items()},
            )
            for name, e in data["distros"].items()
        }
    except (KeyError, TypeError, ValueError, AttributeError) as err:
        raise LockError(
            f"{path}: malformed entry ({err!r}): restore it from git, or run {BUMP_COMMAND}"
        ) from None


def render(distros: dict[str, Distro]) -> str:
    """The lock's text: sorted keys, so the same build writes the same bytes."""
    data = {
        "_doc": _DOC,
        "distros": {
            name: {
                "distro_key": d.distro_key,
                "volume_version": d.volume_version,
                "volumes": {arch: {"sha256": sha} for arch, sha in sorted(d.volumes.items())},
                "distribution": d.distribution,
                "version": d.version,
                "wheels": {
                    arch: {"filename": fn, "sha256": sha}
                    for arch, (fn, sha) in sorted(d.wheels.items())
                },
            }
            for name, d in sorted(distros.items())
        },
    }
    return json.dumps(data, indent=1, sort_keys=False) + "\n"


def _short(sha: str) -> str:
    return sha[:12]


def volume_problems(name: str, locked: Distro | None, built: Distro) -> list[str]:
    """Where `built`'s volumes break the rule against `locked`, one line each."""
    if locked is None:
        return [f"{name}: not in {LOCK_PATH}: run {BUMP_COMMAND} to record it"]
    out = []
    old, new = locked.volume_version, built.volume_version
    if new < old:
        return [
            f"{name}: volume_version went down from {old} to {new}; hosts keep "
            f"backendai-krunner.v{old}: set it back to {old} in krunner/distros.bzl and run {BUMP_COMMAND}"
        ]
    changed = sorted(
        a for a in built.volumes if a in locked.volumes and built.volumes[a] != locked.volumes[a]
    )
    added = sorted(set(built.volumes) - set(locked.volumes))
    if new == old:
        for arch in changed:
            out.append(
                f"{name} {arch}: the volume's bytes changed (sha256 {_short(locked.volumes[arch])} -> "
                f"{_short(built.volumes[arch])}) but volume_version is still {old}, so hosts that "
                f"extracted backendai-krunner.v{old}.{arch}.{built.distro_key} would keep the old one: "
                f"run {BUMP_COMMAND}"
            )
        for arch in added:
            out.append(
                f"{name} {arch}: a new volume not in {LOCK_PATH}: run {BUMP_COMMAND} to record it"
            )
    elif new != old + 1:
        out.append(
            f"{name}: volume_version {new} skips from the locked {old}; the next is {old + 1}: "
            f"set it in krunner/distros.bzl or run {BUMP_COMMAND}"
        )
    elif not changed and not added:
        out.append(
            f"{name}: volume_version raised to {new} but no volume changed: hosts would extract "
            f"the same bytes again: set it back to {old}"
        )
    else:
        out.append(
            f"{name}: volume_version {new} is not recorded in {LOCK_PATH} (it has {old}): run {BUMP_COMMAND}"
        )
    return out


def wheel_problems(name: str, locked: Distro | None, built: Distro) -> list[str]:
    """Where `built`'s wheels break the rule against `locked` (PyPI never replaces a file)."""
    if locked is None:
        return []  # volume_problems names the missing entry
    old, new = locked.version, built.version
    if version_key(new) < version_key(old):
        return [
            f"{name}: version went down from {old} to {new}: set it back to {old} in krunner/distros.bzl"
        ]
    changed = sorted(
        a for a in built.wheels if locked.wheels.get(a, (None, None))[1] != built.wheels[a][1]
    )
    if not changed and new == old:
        return []
    if new == old:
        return [
            f"{name} {arch}: {built.wheels[arch][0]} changed (sha256 "
            f"{_short(locked.wheels[arch][1]) if arch in locked.wheels else 'none'} -> "
            f"{_short(built.wheels[arch][1])}) but the version is still {old}, which PyPI never "
            f"replaces: run {BUMP_COMMAND}"
            for arch in changed
        ]
    if not changed:
        return [f"{name}: version raised to {new} but no wheel changed: set it back to {old}"]
    return [
        f"{name}: version {new} is not recorded in {LOCK_PATH} (it has {old}): run {BUMP_COMMAND}"
    ]


def problems(locked: dict[str, Distro], built: dict[str, Distro]) -> list[str]:
    """Every difference between the lock and a build, each naming its fix; [] if they agree."""
    out = []
    for name in sorted(built):
        out += volume_problems(name, locked.get(name), built[name])
        out += wheel_problems(name, locked.get(name), built[name])
    for name in sorted(set(locked) - set(built)):
        out.append(f"{name}: in {LOCK_PATH} but no longer built: run {BUMP_COMMAND} to drop it")
    return out


def built(
    versions: dict[str, tuple[str, str, str, int]],
    volumes: dict[tuple[str, str], Path],
    wheels: dict[tuple[str, str], Path],
) -> dict[str, Distro]:
    """A build's state: `versions` maps each distro to (distro key, distribution, version,
    volume_version); `volumes` and `wheels` map (distro, arch) to the built files."""
    return {
        name: Distro(
            distro_key=key,
            distribution=distribution,
            version=version,
            volume_version=volume_version,
            volumes={arch: sha256_of(p) for (d, arch), p in volumes.items() if d == name},
            wheels={arch: (p.name, sha256_of(p)) for (d, arch), p in wheels.items() if d == name},
        )
        for name, (key, distribution, version, volume_version) in versions.items()
    }
