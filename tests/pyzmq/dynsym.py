"""The dynamic symbols of an ELF64 little-endian file: what it exports and what it
imports, with the symbol version each import asks for (from .gnu.version and
.gnu.version_r). Constants are from the System V ABI and <elf.h>."""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

SHT_DYNSYM, SHT_GNU_VERSYM, SHT_GNU_VERNEED = 11, 0x6FFFFFFF, 0x6FFFFFFE
STB_GLOBAL, STB_WEAK = 1, 2
STV_HIDDEN, STV_INTERNAL = 2, 1


@dataclasses.dataclass
class Symbol:
    """One .dynsym entry: name, binding (1 global, 2 weak), defined or not, and its version."""

    name: str
    binding: int
    defined: bool
    visible: bool
    version: str | None  # e.g. "GLIBC_2.17"; None when unversioned


def _sections(data: bytes) -> list[tuple[int, int, int, int, int]]:
    """[(type, offset, size, link, entsize)] of every section header."""
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    out = []
    for i in range(shnum):
        base = shoff + i * shentsize
        sh_type, = struct.unpack_from("<I", data, base + 4)
        offset, size, link = struct.unpack_from("<QQI", data, base + 0x18)
        entsize, = struct.unpack_from("<Q", data, base + 0x38)
        out.append((sh_type, offset, size, link, entsize))
    return out


def _cstr(data: bytes, off: int) -> str:
    return data[off:data.index(b"\0", off)].decode()


def dynamic_symbols(path: Path) -> list[Symbol]:
    """Every named symbol of .dynsym."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise ValueError(f"{path}: not a little-endian ELF64 file")
    sections = _sections(data)
    dynsym = next(s for s in sections if s[0] == SHT_DYNSYM)
    strtab = sections[dynsym[3]]
    versym = next((s for s in sections if s[0] == SHT_GNU_VERSYM), None)
    names: dict[int, str] = {}
    verneed = next((s for s in sections if s[0] == SHT_GNU_VERNEED), None)
    if verneed:
        vstr = sections[verneed[3]]
        off = verneed[1]
        while True:
            _, cnt, _, aux, nxt = struct.unpack_from("<HHIII", data, off)
            a = off + aux
            for _ in range(cnt):
                _, _, other, name, anext = struct.unpack_from("<IHHII", data, a)
                names[other] = _cstr(data, vstr[1] + name)
                a += anext
            if not nxt:
                break
            off += nxt
    syms = []
    for i in range(1, dynsym[2] // 24):
        name, info, other, shndx, _, _ = struct.unpack_from("<IBBHQQ", data, dynsym[1] + i * 24)
        if not name:
            continue
        version = None
        if versym:
            idx, = struct.unpack_from("<H", data, versym[1] + 2 * i)
            version = names.get(idx & 0x7FFF)
        syms.append(Symbol(_cstr(data, strtab[1] + name), info >> 4, shndx != 0,
                           (other & 3) not in (STV_HIDDEN, STV_INTERNAL), version))
    return syms


def exported(syms: list[Symbol]) -> set[str]:
    """Names another object could bind to: defined, global or weak, not hidden."""
    return {s.name for s in syms if s.defined and s.binding in (STB_GLOBAL, STB_WEAK) and s.visible}
