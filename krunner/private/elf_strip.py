"""Strip debug information and the static symbol table from an ELF shared object.

PyPI wheels ship some extension modules unstripped (uvloop's loop.so is 16 MB,
14 of them DWARF). The volume needs neither DWARF nor `.symtab`: the dynamic
loader uses `.dynsym`. This does what `strip --strip-unneeded` does to a shared
object, for every architecture (the sid root's binutils only knows x86), in
pure Python and deterministically:

- the sections dropped are the non-allocated ones named `.debug*`/`.zdebug*`,
  `.symtab` and the `.strtab` it links to;
- every byte the program headers map (the loaded image) stays where it is; the
  kept non-allocated sections (`.comment`, `.shstrtab`, ...) are repacked after
  it, then the section header table, with section indices renumbered;
- a file where a dropped section lies inside the loaded image, or any other
  layout this does not understand, is left unchanged (`strip` returns why).

    python3 elf_strip.py FILE...   # strips in place, prints what it saved
"""

from __future__ import annotations

import struct
import sys
from pathlib import Path

SHF_ALLOC = 0x2
SHF_INFO_LINK = 0x40
SHT_NOBITS = 8
SHT_SYMTAB = 2
SHN_LORESERVE = 0xFF00


class _Layout:
    """Struct formats for one ELF class and byte order."""

    def __init__(self, data: bytes):
        if data[:4] != b"\x7fELF":
            raise ValueError("not an ELF file")
        cls, order = data[4], data[5]
        if cls not in (1, 2) or order not in (1, 2):
            raise ValueError(f"unknown ELF class {cls} or byte order {order}")
        e = "<" if order == 1 else ">"
        self.is64 = cls == 2
        # e_type..e_shstrndx after e_ident; then one section header and one program header.
        self.ehdr = struct.Struct(e + ("HHIQQQIHHHHHH" if self.is64 else "HHIIIIIHHHHHH"))
        self.shdr = struct.Struct(e + ("IIQQQQIIQQ" if self.is64 else "IIIIIIIIII"))
        self.phdr = struct.Struct(e + ("IIQQQQQQ" if self.is64 else "IIIIIIII"))


def _align(n: int, a: int) -> int:
    return n if a <= 1 else (n + a - 1) // a * a


def strip(data: bytes) -> tuple[bytes, str]:
    """Return (stripped bytes, "") or (the input unchanged, why it was not stripped)."""
    try:
        lay = _Layout(data)
    except ValueError as err:
        return data, str(err)
    (
        e_type,
        e_machine,
        e_version,
        e_entry,
        e_phoff,
        e_shoff,
        e_flags,
        e_ehsize,
        e_phentsize,
        e_phnum,
        e_shentsize,
        e_shnum,
        e_shstrndx,
    ) = lay.ehdr.unpack_from(data, 16)
    if e_type != 3:
        return data, "not a shared object (ET_DYN)"
    if e_shoff == 0 or e_shnum == 0 or e_shnum >= SHN_LORESERVE or e_shstrndx >= SHN_LORESERVE:
        return data, "no section header table, or an extended one"
    sections = [list(lay.shdr.unpack_from(data, e_shoff + i * e_shentsize)) for i in range(e_shnum)]
    # sh_name, sh_type, sh_flags, sh_addr, sh_offset, sh_size, sh_link, sh_info, sh_addralign, sh_entsize
    strtab = sections[e_shstrndx]

    def name(sh: list) -> str:
        start = strtab[4] + sh[0]
        return data[start : data.index(b"\0", start)].decode("ascii", "replace")

    drop = set()
    for i, sh in enumerate(sections):
        n = name(sh)
        if not sh[2] & SHF_ALLOC and (n.startswith((".debug", ".zdebug")) or sh[1] == SHT_SYMTAB):
            drop.add(i)
            if sh[1] == SHT_SYMTAB and sh[6] != e_shstrndx:
                drop.add(sh[6])
    if not drop:
        return data, "nothing to strip"
    for i, sh in enumerate(sections):
        if i in drop:
            continue
        if sh[6] in drop or (sh[2] & SHF_INFO_LINK and sh[7] in drop):
            return data, f"section {name(sh)} refers to a dropped section"
    loaded_end = e_phoff + e_phnum * e_phentsize
    for i in range(e_phnum):
        ph = lay.phdr.unpack_from(data, e_phoff + i * e_phentsize)
        offset, filesz = (ph[2], ph[5]) if lay.is64 else (ph[1], ph[4])
        loaded_end = max(loaded_end, offset + filesz)
    for i, sh in enumerate(sections):
        if sh[2] & SHF_ALLOC and sh[1] != SHT_NOBITS:
            loaded_end = max(loaded_end, sh[4] + sh[5])
        elif i in drop and sh[4] < loaded_end and sh[5]:
            return data, f"{name(sh)} lies inside the loaded image"
    out = bytearray(data[:loaded_end])
    kept = [i for i in range(e_shnum) if i not in drop]
    new_index = {old: new for new, old in enumerate(kept)}
    for i in kept:
        sh = sections[i]
        if i and not sh[2] & SHF_ALLOC and sh[1] != SHT_NOBITS:
            if sh[4] < loaded_end:
                return data, f"non-allocated section {name(sh)} lies inside the loaded image"
            out += b"\0" * (_align(len(out), sh[8]) - len(out))
            body = data[sh[4] : sh[4] + sh[5]]
            sh[4] = len(out)
            out += body
        if sh[6] and sh[6] < SHN_LORESERVE:
            sh[6] = new_index[sh[6]]
        if sh[2] & SHF_INFO_LINK:
            sh[7] = new_index[sh[7]]
    out += b"\0" * (_align(len(out), 8 if lay.is64 else 4) - len(out))
    shoff = len(out)
    for i in kept:
        out += lay.shdr.pack(*sections[i])
    lay.ehdr.pack_into(
        out,
        16,
        e_type,
        e_machine,
        e_version,
        e_entry,
        e_phoff,
        shoff,
        e_flags,
        e_ehsize,
        e_phentsize,
        e_phnum,
        e_shentsize,
        len(kept),
        new_index[e_shstrndx],
    )
    return bytes(out), ""


def main(argv: list[str]) -> int:
    """Strip each file in place; report the bytes saved or why a file was kept."""
    for arg in argv:
        path = Path(arg)
        before = path.read_bytes()
        after, why = strip(before)
        if why:
            print(f"{path}: kept as it is: {why}")
        else:
            path.write_bytes(after)
            print(f"{path}: {len(before)} -> {len(after)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
