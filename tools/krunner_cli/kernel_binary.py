"""Read a backend.ai-kernel-binary wheel (upstream's, or our drop-in) for inspect and compare.

The wheel carries the agent's in-container files under ai/backend/runner/. Each
member is hashed and, if it is an ELF file, its machine, static-ness and whether
it is stripped are read from its headers. Which members are built here comes from
the wheel's CycloneDX SBOM (`krunner:built_here`, `krunner:member`); a wheel
without one (upstream's) has only upstream's members.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import struct
import zipfile
import zlib
from email.parser import Parser
from pathlib import Path

from krunner_cli.reader import MACHINES, MAX_SBOM, KrunnerError, _one_line, _read_small

DISTRIBUTION = "backend.ai-kernel-binary"
RUNNER = "ai/backend/runner/"
MAX_MEMBER = 256 << 20  # upstream's largest member is 17 MB


@dataclasses.dataclass
class BinaryMember:
    """One ai/backend/runner member: size, sha256, ELF facts, and who built it."""

    name: str
    size: int
    sha256: str
    elf: dict | None
    origin: str  # "ours" or "upstream"
    component: str = ""  # the program built here, from the SBOM
    version: str = ""


@dataclasses.dataclass
class BinaryWheel:
    """A backend.ai-kernel-binary wheel."""

    path: Path
    distribution: str
    version: str
    tags: list[str]
    members: dict[str, BinaryMember]
    has_sbom: bool


def elf_facts(data: bytes, name: str) -> dict | None:
    """Machine, linking (static, static-pie, dynamic, shared object) and stripped
    (no .symtab/.debug_* section) of the ELF64 file `name`, or None."""
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    (machine,) = struct.unpack_from("<H", data, 18)
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 54)
    types = {
        struct.unpack_from("<I", data, phoff + i * phentsize)[0]
        for i in range(phnum)
        if phoff + i * phentsize + 4 <= len(data)
    }
    names = []
    if shnum and shstrndx < shnum and shoff + shnum * shentsize <= len(data) and shentsize >= 32:
        (str_off,) = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 24)
        for i in range(shnum):
            (name_off,) = struct.unpack_from("<I", data, shoff + i * shentsize)
            end = data.find(b"\0", str_off + name_off)
            names.append(data[str_off + name_off : end].decode(errors="replace"))
    (e_type,) = struct.unpack_from("<H", data, 16)
    if 3 in types:  # PT_INTERP: the image's loader and libraries
        linking = "dynamic"
    elif e_type == 2:  # ET_EXEC
        linking = "static"
    else:  # ET_DYN without a loader: a static PIE, or a library (PT_DYNAMIC, no entry to run)
        linking = "shared object" if name.endswith(".so") or ".so." in name else "static-pie"
    return {
        "machine": MACHINES.get(machine, str(machine)),
        "linking": linking,
        "stripped": not any(n == ".symtab" or n.startswith(".debug") for n in names),
    }


def is_kernel_binary(path: Path) -> bool:
    """Whether `path` is a zip whose members are backend.ai-kernel-binary's (no krunner volume)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return False
    return any(n.startswith(RUNNER) for n in names) and any(
        n.split("/")[0].startswith("backend_ai_kernel_binary-")
        and n.endswith(".dist-info/METADATA")
        for n in names
    )


def _built_here(sbom: dict) -> dict[str, tuple[str, str]]:
    """member -> (program, version) for the SBOM's components built here."""
    out = {}
    for c in sbom.get("components") or []:
        if not isinstance(c, dict):
            continue
        props = {
            p.get("name"): p.get("value") for p in c.get("properties") or [] if isinstance(p, dict)
        }
        if props.get("krunner:built_here") == "true" and props.get("krunner:member"):
            out[str(props["krunner:member"])] = (str(c.get("name", "")), str(c.get("version", "")))
    return out


def read_kernel_binary(path: Path) -> BinaryWheel:
    """Read every ai/backend/runner member; KrunnerError for anything malformed."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            infos = sorted({n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA")})
            if len(infos) != 1:
                raise KrunnerError(f"{path}: not a wheel (no single .dist-info directory)")
            di = infos[0]
            meta = Parser().parsestr(_read_small(zf, f"{di}/METADATA", path).decode())
            wheel_meta = Parser().parsestr(_read_small(zf, f"{di}/WHEEL", path).decode())
            sbom_name = f"{di}/sboms/sbom.cdx.json"
            sbom = (
                json.loads(_read_small(zf, sbom_name, path, MAX_SBOM))
                if sbom_name in names
                else None
            )
            if sbom is not None and not isinstance(sbom, dict):
                raise KrunnerError(f"{path}: its SBOM is not a JSON object")
            ours = _built_here(sbom) if sbom else {}
            members = {}
            for info in zf.infolist():
                if not info.filename.startswith(RUNNER) or info.is_dir():
                    continue
                if info.file_size > MAX_MEMBER:
                    raise KrunnerError(
                        f"{path}: {info.filename} is {info.file_size:,} bytes unpacked, more than "
                        f"any member of {DISTRIBUTION} can be"
                    )
                with zf.open(info) as f:
                    data = f.read(MAX_MEMBER + 1)
                program, version = ours.get(info.filename, ("", ""))
                members[info.filename] = BinaryMember(
                    name=info.filename,
                    size=len(data),
                    sha256=hashlib.sha256(data).hexdigest(),
                    elf=elf_facts(data, info.filename),
                    origin="ours" if info.filename in ours else "upstream",
                    component=program,
                    version=version,
                )
    except (zipfile.BadZipFile, zlib.error, OSError, ValueError, EOFError, struct.error) as err:
        raise KrunnerError(f"{path}: malformed wheel ({_one_line(err)})") from None
    if meta["Name"] != DISTRIBUTION:
        raise KrunnerError(f"{path}: not a {DISTRIBUTION} wheel (it is {meta['Name']})")
    tags = []
    for tag in wheel_meta.get_all("Tag") or []:
        plat = tag.strip().rsplit("-", 1)[-1]
        if plat not in tags:
            tags.append(plat)
    return BinaryWheel(path, meta["Name"], meta["Version"], tags, members, sbom is not None)


def _kind(m: BinaryMember) -> str:
    if not m.elf:
        return "data"
    e = m.elf
    return f"ELF {e['machine']} {e['linking']}, {'stripped' if e['stripped'] else 'not stripped'}"


def inspect_binary_data(w: BinaryWheel) -> dict:
    """The stable JSON of `krunner inspect --json` for a kernel-binary wheel."""
    members = [
        {
            "name": m.name.removeprefix(RUNNER),
            "bytes": m.size,
            "sha256": m.sha256,
            "kind": _kind(m),
            "origin": m.origin,
            "component": m.component,
            "version": m.version,
        }
        for m in sorted(w.members.values(), key=lambda m: m.name)
    ]
    return {
        "file": w.path.name,
        "distribution": w.distribution,
        "version": w.version,
        "platform_tags": w.tags,
        "sbom": w.has_sbom,
        "members": members,
        "ours_bytes": sum(m["bytes"] for m in members if m["origin"] == "ours"),
        "upstream_bytes": sum(m["bytes"] for m in members if m["origin"] == "upstream"),
    }


def compare_binary_data(a: BinaryWheel, b: BinaryWheel) -> dict:
    """The stable JSON of `krunner compare --json` for two kernel-binary wheels."""
    ma, mb = a.members, b.members
    rows = []
    for name in sorted(ma.keys() | mb.keys()):
        x, y = ma.get(name), mb.get(name)
        state = (
            "added"
            if x is None
            else "removed"
            if y is None
            else "same"
            if x.sha256 == y.sha256
            else "changed"
        )
        rows.append(
            {
                "name": name.removeprefix(RUNNER),
                "state": state,
                "a_bytes": x.size if x else None,
                "b_bytes": y.size if y else None,
                "a_kind": _kind(x) if x else None,
                "b_kind": _kind(y) if y else None,
                "a_origin": x.origin if x else None,
                "b_origin": y.origin if y else None,
            }
        )
    count = {
        s: sum(1 for r in rows if r["state"] == s) for s in ("same", "changed", "added", "removed")
    }
    return {
        "a": a.path.name,
        "b": b.path.name,
        "a_version": a.version,
        "b_version": b.version,
        "counts": count,
        "members": rows,
    }
