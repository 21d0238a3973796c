"""Every ELF file in a volume needs nothing from the image but its C library.

A volume must run in any image of its libc: one with nothing but libc and a
shell included. So each DT_NEEDED of every ELF file in the volume (ttyd,
python, libpython, lib-dynload, the packages' extension modules and the
libraries they bundle) must be one of the C library's own objects (glibc:
libc, libm, libpthread, libdl, librt, libutil, the loader; musl: libc.so), or
a library the volume itself carries where the file's $ORIGIN runpath points:
a wheel's own `<pkg>.libs/` directory, or libpython in the volume's lib/. A
library found only in the image (libstdc++, libgcc_s, libz, ...) fails, named
with the file that needs it.

The volume is read from its .tar.xz, without extracting it.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from pathlib import Path

import pytest
from support import elf

VOLUME = Path(os.environ["TEST_SRCDIR"]) / os.environ["VOLUME"]


def _members() -> tuple[dict[str, elf.ElfInfo], set[str]]:
    """(ELF path -> info, every path in the volume), paths without the leading ./"""
    infos, paths = {}, set()
    with tarfile.open(VOLUME, "r:xz") as tar:
        for m in tar:
            name = posixpath.normpath(m.name.removeprefix("./"))
            paths.add(name)
            if not m.isfile():
                continue
            f = tar.extractfile(m)
            if f.read(4) != b"\x7fELF":
                continue
            infos[name] = elf.parse_elf(b"\x7fELF" + f.read(), name)
    return infos, paths


INFOS, PATHS = _members()


def carried_by_volume(path: str, info: elf.ElfInfo, lib: str) -> str | None:
    """Where the volume itself provides `lib` for `path` through an $ORIGIN runpath, if it does
    so legitimately: from a wheel's `<pkg>.libs/` directory, or libpython from the volume's lib/.
    A DT_NEEDED may itself be an $ORIGIN path (pbs's python: `$ORIGIN/../lib/libpython3.X.so`)."""
    if "/" in lib:
        target = elf.expand_origin(lib, path)
        ok = target in PATHS and (
            posixpath.basename(posixpath.dirname(target)).endswith(".libs")
            or (posixpath.basename(target).startswith("libpython") and target.startswith("lib/"))
        )
        return target if ok else None
    here = posixpath.dirname(path)
    if posixpath.basename(here).endswith(".libs") and posixpath.join(here, lib) in PATHS:
        return posixpath.join(here, lib)  # a sibling in the same bundle, loaded with it by soname
    for entry in info.runpath:
        where = elf.expand_origin(entry, path)
        if where is None or posixpath.join(where, lib) not in PATHS:
            continue
        if posixpath.basename(where).endswith(".libs"):
            return posixpath.join(where, lib)
        if lib.startswith("libpython") and where == "lib":
            return posixpath.join(where, lib)
    if lib.startswith("libpython") and f"lib/{lib}" in PATHS:
        return f"lib/{lib}"  # the agent's LD_LIBRARY_PATH=/opt/backend.ai/lib finds it too
    return None


def test_the_volume_has_elf_files():
    names = set(INFOS)
    assert "bin/ttyd" in names
    assert any(n.startswith("bin/python3") for n in names)
    assert any("/lib-dynload/" in n for n in names)
    assert any("/site-packages/" in n for n in names)


@pytest.mark.parametrize("path", sorted(INFOS))
def test_needs_only_libc(path):
    info = INFOS[path]
    foreign = [
        lib
        for lib in info.needed
        if not elf.is_libc(lib) and not carried_by_volume(path, info, lib)
    ]
    assert not foreign, (
        f"{path} needs {foreign}, which only an image could provide "
        f"(DT_NEEDED {info.needed}, runpath {info.runpath})"
    )
