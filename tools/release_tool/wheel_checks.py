"""What PyPI and pip check in a wheel, checked before upload: RECORD, tags, metadata.

Each check returns the problems it found, one line each, naming the wheel and the
member; [] means the wheel passed.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
import zipfile
from email.parser import HeaderParser
from pathlib import Path

# name-version-python-abi-platform.whl (no build tag: we never write one)
_WHEEL_NAME = re.compile(
    r"^(?P<name>[^-]+)-(?P<version>[^-]+)-(?P<py>[^-]+)-(?P<abi>[^-]+)-(?P<plat>[^-]+)\.whl$"
)
_ARCH_OF_TAG = re.compile(r"_(x86_64|aarch64|arm64)$")


def record_digest(data: bytes) -> str:
    """RECORD's hash field: sha256=<urlsafe base64, no padding>."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def dist_info(zf: zipfile.ZipFile) -> str:
    """The one *.dist-info directory at the top of the wheel."""
    tops = {n.split("/", 1)[0] for n in zf.namelist() if n.split("/", 1)[0].endswith(".dist-info")}
    if len(tops) != 1:
        raise ValueError(f"{len(tops)} .dist-info directories, not 1")
    return tops.pop()


def record_problems(path: Path) -> list[str]:
    """Every member listed in RECORD with its sha256 and size, nothing else listed, RECORD unhashed."""
    out = []
    with zipfile.ZipFile(path) as zf:
        info = dist_info(zf)
        rows = list(csv.reader(io.StringIO(zf.read(f"{info}/RECORD").decode())))
        listed = {}
        for row in rows:
            if len(row) != 3:
                out.append(f"{path.name}: RECORD row {row!r} does not have 3 fields")
                continue
            if row[0] in listed:
                out.append(f"{path.name}: RECORD lists {row[0]} twice")
            listed[row[0]] = row
        members = [n for n in zf.namelist() if not n.endswith("/")]
        for name in members:
            if name not in listed:
                out.append(f"{path.name}: {name} is not in RECORD")
                continue
            _, digest, size = listed[name]
            if name == f"{info}/RECORD":
                if digest or size:
                    out.append(f"{path.name}: RECORD hashes itself")
                continue
            data = zf.read(name)
            if digest != record_digest(data) or size != str(len(data)):
                out.append(f"{path.name}: {name} does not match its RECORD line (hash or size)")
        for name in sorted(set(listed) - set(members)):
            out.append(f"{path.name}: RECORD lists {name}, which is not in the wheel")
    return out


def normalize(name: str) -> str:
    """PEP 503 normalisation, then the wheel file name's spelling (PEP 427: '_')."""
    return re.sub(r"[-_.]+", "_", name).lower()


def tag_problems(path: Path) -> list[str]:
    """The file name, WHEEL and METADATA agree: name, version, tags, one arch, a platform wheel."""
    m = _WHEEL_NAME.match(path.name)
    if not m:
        return [f"{path.name}: not a wheel file name (name-version-python-abi-platform.whl)"]
    out = []
    with zipfile.ZipFile(path) as zf:
        info = dist_info(zf)
        wheel = HeaderParser().parsestr(zf.read(f"{info}/WHEEL").decode())
        meta = HeaderParser().parsestr(zf.read(f"{info}/METADATA").decode())
    if wheel.get("Wheel-Version") != "1.0":
        out.append(f"{path.name}: WHEEL says Wheel-Version {wheel.get('Wheel-Version')}, not 1.0")
    expected = {
        f"{py}-{abi}-{plat}"
        for py in m["py"].split(".")
        for abi in m["abi"].split(".")
        for plat in m["plat"].split(".")
    }
    tags = set(wheel.get_all("Tag") or [])
    if tags != expected:
        out.append(
            f"{path.name}: WHEEL's tags {sorted(tags)} are not the file name's {sorted(expected)}"
        )
    plats = m["plat"].split(".")
    if "any" in plats:
        out.append(f"{path.name}: a volume wheel must be a platform wheel, not 'any'")
    elif wheel.get("Root-Is-Purelib", "").lower() != "false":
        out.append(f"{path.name}: a platform wheel needs Root-Is-Purelib: false")
    archs = {"aarch64" if a == "arm64" else a for t in plats for a in _ARCH_OF_TAG.findall(t)}
    if len(archs) != 1 or any(not _ARCH_OF_TAG.search(t) for t in plats if t != "any"):
        out.append(f"{path.name}: platform tags {plats} do not name one architecture")
    if normalize(meta.get("Name", "")) != normalize(m["name"]):
        out.append(f"{path.name}: METADATA Name {meta.get('Name')!r} is not the file name's")
    if meta.get("Version") != m["version"]:
        out.append(f"{path.name}: METADATA Version {meta.get('Version')!r} is not the file name's")
    return out


def arch_of(path: Path) -> str:
    """The one architecture a platform wheel's tags name (arm64 spelled aarch64)."""
    m = _WHEEL_NAME.match(path.name)
    found = {
        "aarch64" if a == "arm64" else a
        for t in m["plat"].split(".")
        for a in _ARCH_OF_TAG.findall(t)
    }
    return found.pop()


def metadata(path: Path) -> tuple[str, str]:
    """(Name, Version) from the wheel's METADATA."""
    with zipfile.ZipFile(path) as zf:
        meta = HeaderParser().parsestr(zf.read(f"{dist_info(zf)}/METADATA").decode())
    return meta["Name"], meta["Version"]


def sbom(path: Path) -> bytes | None:
    """The wheel's PEP 770 SBOM (dist-info/sboms/*.cdx.json), or None."""
    with zipfile.ZipFile(path) as zf:
        info = dist_info(zf)
        names = sorted(
            n for n in zf.namelist() if n.startswith(f"{info}/sboms/") and n.endswith(".json")
        )
        return zf.read(names[0]) if names else None


def installed_problems(path: Path, target: Path) -> list[str]:
    """Every file of the wheel outside dist-info is in `target` (a pip --target) with its bytes."""
    out = []
    with zipfile.ZipFile(path) as zf:
        info = dist_info(zf)
        for name in zf.namelist():
            if name.endswith("/") or name.startswith(f"{info}/"):
                continue
            dest = target / name
            if not dest.is_file():
                out.append(f"{path.name}: pip did not install {name}")
            elif (
                hashlib.sha256(dest.read_bytes()).digest() != hashlib.sha256(zf.read(name)).digest()
            ):
                out.append(f"{path.name}: pip installed {name} with other bytes")
    return out
