"""Just enough ELF reading for the tests: machine, type, interpreter, needed
libraries, runpath, soname, the symbol versions (GLIBC_2.17, ...) a file
requires, and whether it is stripped; the dynamic symbols a file exports and
imports, with their versions (`dynamic_symbols`, `exported`); and which
libraries are the C library's own (`is_libc`) and where a $ORIGIN runpath points
(`expand_origin`). Offsets and constants are from the System V ABI / <elf.h>;
all our targets are 64-bit little-endian."""

from __future__ import annotations

import dataclasses
import posixpath
import re
import struct
from pathlib import Path

MACHINES = {62: "x86_64", 183: "aarch64"}
TYPES = {2: "EXEC", 3: "DYN"}
SHT_SYMTAB = 2
SHT_DYNSYM, SHT_GNU_VERSYM, SHT_GNU_VERNEED = 11, 0x6FFFFFFF, 0x6FFFFFFE
STB_GLOBAL, STB_WEAK = 1, 2
STV_HIDDEN, STV_INTERNAL = 2, 1
PT_INTERP, PT_DYNAMIC = 3, 2
DT_NEEDED, DT_STRTAB, DT_SONAME, DT_RPATH, DT_RUNPATH, DT_VERNEED, DT_VERNEEDNUM = (
    1,
    5,
    14,
    15,
    29,
    0x6FFFFFFE,
    0x6FFFFFFF,
)


class NotElf64(ValueError):
    """The file is not a little-endian ELF64 file."""


@dataclasses.dataclass
class ElfInfo:
    """What the tests ask of one ELF file.

    `type` is "EXEC", "DYN" (PIE or shared object) or the number; `has_symtab`
    says a SHT_SYMTAB section is present (the file is not stripped).
    """

    machine: str
    type: str
    has_symtab: bool
    interpreter: str | None
    needed: list[str]
    runpath: list[str]
    version_needs: dict[str, list[str]]  # library -> ["GLIBC_2.17", ...]
    soname: str | None = None

    @property
    def static(self) -> bool:
        return self.interpreter is None and not self.needed

    def max_glibc(self) -> tuple[int, ...]:
        """The highest GLIBC_x.y symbol version required, (0,) if none."""
        best = (0,)
        for versions in self.version_needs.values():
            for v in versions:
                if v.startswith("GLIBC_") and v[6:7].isdigit():
                    best = max(best, tuple(int(p) for p in v[6:].split(".")))
        return best


def is_elf(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(4) == b"\x7fELF"


def read_elf(path: Path) -> ElfInfo:
    """Parse a 64-bit little-endian ELF file (all our targets are)."""
    return parse_elf(Path(path).read_bytes(), str(path))


def parse_elf(data: bytes, path: str = "<bytes>") -> ElfInfo:
    """Parse the bytes of a 64-bit little-endian ELF; `path` is for messages."""
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise NotElf64(f"{path} is not a little-endian ELF64 file (starts {data[:6]!r})")
    e_type, machine = struct.unpack_from("<HH", data, 16)
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum = struct.unpack_from("<HHHH", data, 54)
    has_symtab = (
        any(
            struct.unpack_from("<I", data, shoff + i * shentsize + 4)[0] == SHT_SYMTAB
            for i in range(shnum)
        )
        if shoff
        else False
    )
    segments = [struct.unpack_from("<IIQQQQQQ", data, phoff + i * phentsize) for i in range(phnum)]
    interp = None
    dynamic = []
    for p_type, _flags, offset, _vaddr, _paddr, filesz, _memsz, _align in segments:
        if p_type == PT_INTERP:
            interp = data[offset : offset + filesz].rstrip(b"\0").decode()
        elif p_type == PT_DYNAMIC:
            for i in range(0, filesz, 16):
                tag, val = struct.unpack_from("<qQ", data, offset + i)
                if tag == 0:
                    break
                dynamic.append((tag, val))

    def to_offset(addr: int) -> int:
        for p_type, _f, offset, vaddr, _pa, filesz, _m, _a in segments:
            if p_type == 1 and vaddr <= addr < vaddr + filesz:  # PT_LOAD
                return addr - vaddr + offset
        raise ValueError(f"{path}: address {addr:#x} is in no loaded segment")

    tags = {}
    for tag, val in dynamic:
        tags.setdefault(tag, []).append(val)
    needed, runpath, version_needs, soname = [], [], {}, None
    if DT_STRTAB in tags:
        strtab = to_offset(tags[DT_STRTAB][0])

        def string(off: int) -> str:
            end = data.index(b"\0", strtab + off)
            return data[strtab + off : end].decode()

        needed = [string(v) for v in tags.get(DT_NEEDED, [])]
        soname = string(tags[DT_SONAME][0]) if DT_SONAME in tags else None
        for v in tags.get(DT_RUNPATH, []) + tags.get(DT_RPATH, []):
            runpath += string(v).split(":")
        if DT_VERNEED in tags:
            off = to_offset(tags[DT_VERNEED][0])
            for _ in range(tags.get(DT_VERNEEDNUM, [0])[0]):
                _ver, cnt, file_off, aux, nxt = struct.unpack_from("<HHIII", data, off)
                lib = string(file_off)
                a = off + aux
                for _ in range(cnt):
                    _hash, _flags, _other, name_off, anext = struct.unpack_from("<IHHII", data, a)
                    version_needs.setdefault(lib, []).append(string(name_off))
                    a += anext
                off += nxt
    return ElfInfo(
        MACHINES.get(machine, str(machine)),
        TYPES.get(e_type, str(e_type)),
        has_symtab,
        interp,
        needed,
        runpath,
        version_needs,
        soname,
    )


# The C library's own shared objects, which every image of its kind has: glibc's
# libc, libm, libpthread, libdl, librt, libutil and its loader; musl's single
# libc.so (DT_NEEDED "libc.so", its loader ld-musl-<arch>.so.1 is the same file),
# also under Alpine's name libc.musl-<arch>.so.1, which musllinux wheels name and
# musl's loader takes as itself (any "libc." name) when the image has no such file.
_LIBC = re.compile(
    r"^(libc\.so(\.6)?|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libutil\.so\.1"
    r"|ld-linux(-x86-64|-aarch64)\.so\.[12]|ld-musl-(x86_64|aarch64)\.so\.1"
    r"|libc\.musl-(x86_64|aarch64)\.so\.1)$"
)


def is_libc(soname: str) -> bool:
    """Whether `soname` is one of the C library's own objects (glibc or musl), which an image provides."""
    return bool(_LIBC.match(soname))


def expand_origin(entry: str, file_path: str) -> str | None:
    """The directory a runpath entry names for the file at `file_path` (a POSIX path), None
    unless it is relative to the file ($ORIGIN or ${ORIGIN}): other entries name the image's
    directories, not the volume's."""
    if not entry.startswith(("$ORIGIN", "${ORIGIN}")):
        return None
    rest = entry.split("}", 1)[1] if entry.startswith("${") else entry[len("$ORIGIN") :]
    return posixpath.normpath(posixpath.dirname(file_path) + rest)


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
    (shoff,) = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum = struct.unpack_from("<HH", data, 0x3A)
    out = []
    for i in range(shnum):
        base = shoff + i * shentsize
        (sh_type,) = struct.unpack_from("<I", data, base + 4)
        offset, size, link = struct.unpack_from("<QQI", data, base + 0x18)
        (entsize,) = struct.unpack_from("<Q", data, base + 0x38)
        out.append((sh_type, offset, size, link, entsize))
    return out


def _cstr(data: bytes, off: int) -> str:
    return data[off : data.index(b"\0", off)].decode()


def dynamic_symbols(path: Path) -> list[Symbol]:
    """Every named symbol of .dynsym, with the version each import asks for (.gnu.version, .gnu.version_r)."""
    data = Path(path).read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise NotElf64(f"{path} is not a little-endian ELF64 file (starts {data[:6]!r})")
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
            (idx,) = struct.unpack_from("<H", data, versym[1] + 2 * i)
            version = names.get(idx & 0x7FFF)
        syms.append(
            Symbol(
                _cstr(data, strtab[1] + name),
                info >> 4,
                shndx != 0,
                (other & 3) not in (STV_HIDDEN, STV_INTERNAL),
                version,
            )
        )
    return syms


def exported(syms: list[Symbol]) -> set[str]:
    """Names another object could bind to: defined, global or weak, not hidden."""
    return {s.name for s in syms if s.defined and s.binding in (STB_GLOBAL, STB_WEAK) and s.visible}
