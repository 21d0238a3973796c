"""Just enough of an ELF64 little-endian reader to tell how a binary was linked.

Reads the file header, program headers (PT_INTERP, PT_DYNAMIC and its DT_NEEDED
entries) and section header types (SHT_SYMTAB: not stripped). Offsets and
constants are from the System V ABI / <elf.h>.
"""

from __future__ import annotations

import dataclasses
import struct
from pathlib import Path

EM_X86_64 = 62
EM_AARCH64 = 183

_ET_NAMES = {2: "EXEC", 3: "DYN"}
_PT_DYNAMIC = 2
_PT_INTERP = 3
_DT_NULL = 0
_DT_NEEDED = 1
_SHT_SYMTAB = 2


class NotElf64(ValueError):
    """The file is not a little-endian ELF64 file."""


@dataclasses.dataclass(frozen=True)
class ElfInfo:
    """How an ELF64 file is linked.

    Attributes:
      machine: e_machine (EM_X86_64, EM_AARCH64, ...).
      type: "EXEC", "DYN" (PIE or shared object) or the number.
      interpreter: the PT_INTERP path (the dynamic loader), or None.
      needed: DT_NEEDED entries (shared libraries to load), as string-table offsets
        resolved to names when the string table can be found.
      has_symtab: whether a SHT_SYMTAB section is present (the binary is not stripped).
    """

    machine: int
    type: str
    interpreter: str | None
    needed: tuple[str, ...]
    has_symtab: bool


def read(path: Path) -> ElfInfo:
    """Parse `path`'s headers."""
    data = path.read_bytes()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        raise NotElf64(f"{path} is not a little-endian ELF64 file (starts {data[:6]!r})")
    e_type, e_machine = struct.unpack_from("<HH", data, 16)
    e_phoff, e_shoff = struct.unpack_from("<QQ", data, 32)
    e_phentsize, e_phnum, e_shentsize, e_shnum = struct.unpack_from("<HHHH", data, 54)

    interpreter = None
    dynamic: tuple[int, int] | None = None
    loads: list[tuple[int, int, int]] = []  # (vaddr, offset, filesz) to map DT_STRTAB
    for i in range(e_phnum):
        off = e_phoff + i * e_phentsize
        p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, off)
        if p_type == _PT_INTERP:
            interpreter = data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
        elif p_type == _PT_DYNAMIC:
            dynamic = (p_offset, p_filesz)
        elif p_type == 1:  # PT_LOAD
            loads.append((p_vaddr, p_offset, p_filesz))

    needed_offsets: list[int] = []
    strtab_vaddr = None
    if dynamic is not None:
        for off in range(dynamic[0], dynamic[0] + dynamic[1], 16):
            tag, value = struct.unpack_from("<qQ", data, off)
            if tag == _DT_NULL:
                break
            if tag == _DT_NEEDED:
                needed_offsets.append(value)
            elif tag == 5:  # DT_STRTAB
                strtab_vaddr = value
    needed = tuple(_string_at(data, loads, strtab_vaddr, o) for o in needed_offsets)

    has_symtab = any(
        struct.unpack_from("<I", data, e_shoff + i * e_shentsize + 4)[0] == _SHT_SYMTAB
        for i in range(e_shnum)
    ) if e_shoff else False
    return ElfInfo(machine=e_machine, type=_ET_NAMES.get(e_type, str(e_type)),
                   interpreter=interpreter, needed=needed, has_symtab=has_symtab)


def _string_at(data: bytes, loads: list[tuple[int, int, int]], strtab_vaddr: int | None, offset: int) -> str:
    """The NUL-terminated dynamic string at `offset`, or "#<offset>" if unmappable."""
    if strtab_vaddr is not None:
        for vaddr, file_off, size in loads:
            if vaddr <= strtab_vaddr < vaddr + size:
                start = file_off + (strtab_vaddr - vaddr) + offset
                return data[start:data.index(b"\0", start)].decode("utf-8", "replace")
    return f"#{offset}"
