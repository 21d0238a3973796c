"""support/elf.py on binaries of known linkage from the test's Debian root.

The static-linking checks on ttyd and the volumes rely on this reader; these known answers show
it does see a dynamic loader and shared libraries when they are there.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support import elf


def test_dynamic_binary_has_interpreter_and_needed_libc():
    info = elf.read_elf(Path("/bin/sh").resolve())
    assert info.machine == "x86_64"
    assert info.interpreter is not None and "ld-linux" in info.interpreter
    assert "libc.so.6" in info.needed


def test_static_pie_binary_has_neither():
    # Debian's qemu-user binaries are static-pie: ET_DYN, yet no loader and no libraries.
    qemu = shutil.which("qemu-aarch64")
    assert qemu, "qemu-aarch64 missing: tools/bazel_wrapper/sid_root.json installs qemu-user"
    info = elf.read_elf(Path(qemu).resolve())
    assert (info.machine, info.type, info.interpreter, info.needed) == ("x86_64", "DYN", None, [])
    assert not info.has_symtab  # Debian strips its binaries


def test_not_elf_is_an_error(tmp_path):
    script = tmp_path / "script"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(elf.NotElf64, match="not a little-endian ELF64"):
        elf.read_elf(script)


def test_libc_set():
    for name in (
        "libc.so.6",
        "libm.so.6",
        "libpthread.so.0",
        "libdl.so.2",
        "librt.so.1",
        "libutil.so.1",
        "ld-linux-x86-64.so.2",
        "ld-linux-aarch64.so.1",
        "libc.so",
        "ld-musl-aarch64.so.1",
        "libc.musl-x86_64.so.1",
    ):
        assert elf.is_libc(name), name
    for name in (
        "libstdc++.so.6",
        "libgcc_s.so.1",
        "libz.so.1",
        "libcrypt.so.1",
        "libpython3.13.so.1.0",
    ):
        assert not elf.is_libc(name), name


def test_expand_origin():
    so = "lib/python3.13/site-packages/zmq/backend/cython/_zmq.so"
    assert (
        elf.expand_origin("$ORIGIN/../../../pyzmq.libs", so)
        == "lib/python3.13/site-packages/pyzmq.libs"
    )
    assert elf.expand_origin("${ORIGIN}/../lib", "bin/python3") == "lib"
    assert elf.expand_origin("/usr/lib", so) is None
