"""Read a krunner wheel and its volume without extracting anything to disk.

The volume (`krunner-env.<distro>.<arch>.tar.xz` inside the wheel) is streamed
member by member; a member that would land outside the volume root (an absolute
or `..` path, a link pointing out of the root once the volume's links are
followed, a member below a link, a path named twice) stops the read with an
error. Any malformed wheel is a KrunnerError with one line, never a traceback,
and the small files read whole (METADATA, WHEEL, entry points, SBOM) are read
only when their declared size is within a bound, so a zip bomb costs nothing.
"""

from __future__ import annotations

import configparser
import dataclasses
import functools
import hashlib
import json
import lzma
import posixpath
import re
import tarfile
import zipfile
import zlib
from email.parser import Parser
from pathlib import Path
from typing import Callable

ENTRY_GROUP = "backendai_krunner_v10"
MACHINES = {62: "x86_64", 183: "aarch64"}
# Bounds on what is read whole; ours are a few KB (the SBOM about 100 KB).
MAX_TEXT = 1 << 20
MAX_SBOM = 16 << 20


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
        raise KrunnerError(
            f"{wheel}: volume member {name!r} would be extracted outside the volume root"
        )
    return name.rstrip("/") or "."


def _check_link(name: str, target: str, wheel: Path) -> None:
    if target.startswith("/"):
        raise KrunnerError(
            f"{wheel}: volume link {name} -> {target} points outside the volume (absolute)"
        )
    resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), target))
    if resolved == ".." or resolved.startswith("../"):
        raise KrunnerError(
            f"{wheel}: volume link {name} -> {target} points outside the volume root"
        )


MAX_LINK_HOPS = 40  # as the kernel's limit: more is a loop


def link_escapes(links: dict[str, str], path: str) -> bool:
    """Whether following the link `path` leaves the root, every link on the way followed.

    Resolves as the kernel would after extraction (a `..` after a link goes up
    from where the link points); a loop counts as escaping.
    """
    stack = path.split("/")[:-1]
    todo = links[path].split("/")
    hops = 0
    while todo:
        part = todo.pop(0)
        if part in ("", "."):
            continue
        if part == "..":
            if not stack:
                return True
            stack.pop()
            continue
        stack.append(part)
        current = "/".join(stack)
        if current in links:
            hops += 1
            target = links[current]
            if hops > MAX_LINK_HOPS or target.startswith("/"):
                return True
            stack.pop()
            todo = target.split("/") + todo
    return False


def check_tree(members: dict[str, "Member"], wheel: Path) -> None:
    """Refuse links that leave the root once followed, and members below a link."""
    links = {n: m.link for n, m in members.items() if m.kind == "symlink"}
    for name in sorted(links):
        if link_escapes(links, name):
            raise KrunnerError(
                f"{wheel}: volume link {name} -> {links[name]} points outside the "
                "volume root (or loops) once the volume's other links are followed"
            )
    for name in sorted(members):
        parts = name.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in links:
                raise KrunnerError(
                    f"{wheel}: volume member {name} is below the link {parent}: "
                    "extracting it would write where the link points"
                )


def _want_head(name: str) -> bool:
    return (
        name.startswith("bin/")
        or name.endswith(".so")
        or ".so." in name
        or name.endswith("/METADATA")
        or name.endswith("patchlevel.h")
    )


def read_volume(
    zf: zipfile.ZipFile, member: str, wheel: Path, progress: Callable[[int], None] = lambda n: None
) -> Volume:
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
        with (
            zf.open(member) as raw,
            lzma.open(Counting(raw)) as xz,
            tarfile.open(fileobj=xz, mode="r|") as tar,
        ):
            for m in tar:
                name = _safe(m.name, wheel)
                if name in members and not (m.isdir() and members[name].kind == "dir"):
                    raise KrunnerError(
                        f"{wheel}: volume member {name} appears twice; extraction "
                        "would keep only the last one"
                    )
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
                    for chunk in iter(functools.partial(stream.read, 1 << 20), b""):
                        if not first:
                            first = chunk
                        digest.update(chunk)
                    if _want_head(name):
                        heads[name] = first[:65536]
                    members[name] = Member("file", size=m.size, sha256=digest.hexdigest())
    except (
        lzma.LZMAError,
        tarfile.TarError,
        EOFError,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        ValueError,
        OSError,
    ) as err:
        raise KrunnerError(f"{wheel}: volume {member} is corrupt ({_one_line(err)})") from None
    check_tree(members, wheel)
    return Volume(member, info.compress_size, members, heads)


def _one_line(err: BaseException) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


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
    """Read a krunner wheel (ours or upstream's); KrunnerError for anything malformed."""
    if not path.is_file():
        raise KrunnerError(f"{path}: no such file")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError) as err:
        # NotImplementedError: a central directory claiming a zip version from the future
        # (found by tests/fuzz)
        raise KrunnerError(
            f"{path}: not a wheel (not a readable zip archive: {_one_line(err)})"
        ) from None
    try:
        with zf:
            return _read_wheel(zf, path, progress)
    except (
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        EOFError,
        OSError,
        ValueError,
        configparser.Error,
    ) as err:  # ValueError: JSON, UTF-8, numbers
        raise KrunnerError(f"{path}: malformed wheel ({_one_line(err)})") from None


def _read_small(zf: zipfile.ZipFile, name: str, wheel: Path, limit: int = MAX_TEXT) -> bytes:
    """A member read whole, refused before reading when it says it is larger than `limit`."""
    try:
        info = zf.getinfo(name)
    except KeyError:
        raise KrunnerError(f"{wheel}: not a wheel (no {name})") from None
    if info.file_size > limit:
        raise KrunnerError(
            f"{wheel}: {name} is {info.file_size:,} bytes unpacked, more than the "
            f"{limit:,} such a file can be; not a krunner wheel"
        )
    with zf.open(info) as f:
        return f.read(limit + 1)[:limit]


def _check_sbom(sbom: object, wheel: Path) -> dict:
    """The SBOM if it is an SPDX or CycloneDX document of component objects."""
    if not isinstance(sbom, dict):
        raise KrunnerError(f"{wheel}: its SBOM is not a JSON object")
    packages = sbom.get("packages") or sbom.get("components") or []
    if not isinstance(packages, list) or not all(isinstance(p, dict) for p in packages):
        raise KrunnerError(f"{wheel}: its SBOM's packages/components are not a list of objects")
    for p in packages:
        for key in ("name", "versionInfo", "version", "licenseConcluded", "licenseDeclared"):
            if p.get(key) is not None and not isinstance(p[key], str):
                raise KrunnerError(f"{wheel}: its SBOM's component {key} is not a string")
        if not isinstance(p.get("properties", []), list) or not isinstance(
            p.get("licenses") or [], list
        ):
            raise KrunnerError(f"{wheel}: its SBOM's component properties/licenses are not lists")
    return sbom


def _read_wheel(zf: zipfile.ZipFile, path: Path, progress: Callable[[int], None]) -> Wheel:
    names = zf.namelist()
    dist_info = sorted({n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")})
    if len(dist_info) != 1:
        raise KrunnerError(f"{path}: not a wheel (no single .dist-info directory)")
    di = dist_info[0]
    meta = Parser().parsestr(_read_small(zf, f"{di}/METADATA", path).decode())
    wheel_meta = Parser().parsestr(_read_small(zf, f"{di}/WHEEL", path).decode())
    if not meta["Name"] or not meta["Version"]:
        raise KrunnerError(f"{path}: not a wheel ({di}/METADATA has no Name or Version)")
    ep = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    ep.optionxform = str
    if f"{di}/entry_points.txt" in names:
        ep.read_string(_read_small(zf, f"{di}/entry_points.txt", path).decode())
    if not ep.has_section(ENTRY_GROUP) or not ep.items(ENTRY_GROUP):
        raise KrunnerError(f"{path}: not a krunner wheel (no {ENTRY_GROUP} entry point)")
    entry, _target = ep.items(ENTRY_GROUP)[0]
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", entry):
        raise KrunnerError(f"{path}: not a krunner wheel (entry point name {entry!r})")
    package = "ai/backend/krunner/" + entry
    volumes = sorted(
        n for n in names if n.startswith(package + "/krunner-env.") and n.endswith(".tar.xz")
    )
    if not volumes:
        raise KrunnerError(f"{path}: not a krunner wheel (no {package}/krunner-env.*.tar.xz)")

    def text(name: str) -> str | None:
        return _read_small(zf, name, path).decode().strip() if name in names else None

    keys = (text(f"{package}/versions.txt") or "").split()
    key = keys[0] if keys else ""
    version = text(f"{package}/krunner-version.{key}.txt")
    sbom_names = [
        n for n in names if n.startswith(di + "/") and n.endswith((".spdx.json", ".cdx.json"))
    ]
    sbom = (
        _check_sbom(json.loads(_read_small(zf, sbom_names[0], path, MAX_SBOM)), path)
        if sbom_names
        else None
    )
    return Wheel(
        path=path,
        distribution=meta["Name"],
        version=meta["Version"],
        tags=platform_tags(wheel_meta.get_all("Tag", [])),
        entry_point=entry,
        package=package.replace("/", "."),
        distro_keys=keys,
        volume_version=int(version) if version and re.fullmatch(r"[0-9]{1,9}", version) else None,
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
        p_type = int.from_bytes(head[off : off + 4], "little")
        interp |= p_type == 3
        dyn |= p_type == 2
    return {"machine": MACHINES.get(machine, str(machine)), "static": not interp and not dyn}


def cdx_license(component: dict) -> str:
    """A CycloneDX component's licenses as one string: expression, ids and names joined."""
    out = []
    for entry in component.get("licenses") or []:
        if not isinstance(entry, dict):
            continue
        if "expression" in entry:
            out.append(str(entry["expression"]))
        else:
            lic = entry.get("license") if isinstance(entry.get("license"), dict) else {}
            out.append(str(lic.get("id") or lic.get("name") or ""))
    return " AND ".join(x for x in out if x)


def _artifact(component: dict) -> str:
    for prop in component.get("properties") or []:
        if isinstance(prop, dict) and prop.get("name") == "krunner:artifact":
            return str(prop.get("value"))
    return "listed"


def components(wheel: Wheel) -> list[dict]:
    """The component table: from the SBOM if the wheel has one, else derived from the volume."""
    if wheel.sbom:
        packages = wheel.sbom.get("packages") or wheel.sbom.get("components") or []
        return [
            {
                "name": p.get("name") or "?",
                "version": p.get("versionInfo") or p.get("version") or "",
                "license": p.get("licenseConcluded") or p.get("licenseDeclared") or cdx_license(p),
                "source": "sbom: " + _artifact(p),
            }
            for p in packages
        ]
    out = []
    vol = wheel.volume
    for name, head in sorted(vol.heads.items()):
        if name.endswith(".dist-info/METADATA"):
            meta = Parser().parsestr(head.decode(errors="replace"))
            if not meta["Name"]:
                continue  # not a distribution's metadata; nothing to list
            lic = meta.get("License-Expression") or (meta.get("License") or "").split("\n")[0][:60]
            out.append(
                {
                    "name": meta["Name"],
                    "version": meta["Version"] or "",
                    "license": lic,
                    "source": "dist-info",
                }
            )
        elif name.endswith("patchlevel.h"):
            m = re.search(rb'#define\s+PY_VERSION\s+"([^"]+)"', head)
            if m:
                out.append(
                    {
                        "name": "CPython",
                        "version": m.group(1).decode(),
                        "license": "PSF-2.0",
                        "source": name,
                    }
                )
        elif (
            name.startswith("bin/")
            and (e := elf_summary(head))
            and vol.members[name].size < 8 << 20
            and not name.startswith("bin/python")
        ):
            out.append(
                {
                    "name": name[4:],
                    "version": "",
                    "license": "",
                    "source": f"ELF {e['machine']}{' static' if e['static'] else ''}",
                }
            )
    return out
