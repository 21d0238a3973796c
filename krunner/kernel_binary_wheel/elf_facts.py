"""What a replacement binary must be, read from its ELF headers: machine, static, stripped.

Pure Python, so it reads aarch64 and x86_64 files on any exec host.
"""

from __future__ import annotations

import struct

MACHINES = {62: "x86_64", 183: "aarch64"}
_PT_INTERP = 3


def elf_facts(data: bytes) -> dict | None:
    """{"machine", "static", "stripped"} of a 64-bit little-endian ELF file, or None if it is not one.

    `static`: no PT_INTERP, so it needs no loader or library from the image (a
    static PIE has PT_DYNAMIC for its own relocations, and still runs anywhere).
    `stripped`: no .symtab and no .debug_* section.
    """
    if len(data) < 64 or data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return None
    (machine,) = struct.unpack_from("<H", data, 18)
    phoff, shoff = struct.unpack_from("<QQ", data, 32)
    phentsize, phnum, shentsize, shnum, shstrndx = struct.unpack_from("<HHHHH", data, 54)
    types = set()
    for i in range(phnum):
        off = phoff + i * phentsize
        if off + 4 <= len(data):
            types.add(struct.unpack_from("<I", data, off)[0])
    names = []
    if shnum and shstrndx < shnum and shoff + shnum * shentsize <= len(data):
        str_off = struct.unpack_from("<Q", data, shoff + shstrndx * shentsize + 24)[0]
        for i in range(shnum):
            (name_off,) = struct.unpack_from("<I", data, shoff + i * shentsize)
            start = str_off + name_off
            end = data.find(b"\0", start)
            names.append(data[start:end].decode(errors="replace") if end >= 0 else "")
    return {
        "machine": MACHINES.get(machine, str(machine)),
        "static": _PT_INTERP not in types,
        "stripped": not any(n == ".symtab" or n.startswith(".debug") for n in names),
    }
