"""elf_strip: the wheels' unstripped extension modules lose DWARF and .symtab, and still load.

Run on the real uvloop modules of three package locks (glibc x86_64 and
aarch64, musl aarch64): what the loader uses (program headers, dynamic section,
dynamic symbols, the loaded bytes) must be unchanged, and the glibc x86_64
module, stripped, must still run under the sid root's CPython 3.13 (the tests' own is 3.14).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TOOL = Path(os.environ["ELF_STRIP"]).resolve()
spec = importlib.util.spec_from_file_location("elf_strip", TOOL)
elf_strip = importlib.util.module_from_spec(spec)
spec.loader.exec_module(elf_strip)
WHEELS = [
    Path(os.environ["TEST_SRCDIR"], p)
    for p in os.environ["WHEEL_SETS"].split()
    if Path(p).name.startswith("uvloop-")
]


def readelf(path: Path, *what: str) -> str:
    return subprocess.run(
        ["readelf", "-W", *what, str(path)], check=True, capture_output=True, text=True
    ).stdout.replace(str(path), "FILE")


def loop_module(wheel: Path, dest: Path) -> Path:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.startswith("uvloop/loop.") and n.endswith(".so")]
        zf.extractall(dest)
    return dest / name


@pytest.mark.parametrize("wheel", WHEELS, ids=lambda w: w.name.split("-", 4)[-1])
def test_strip_keeps_what_the_loader_uses(wheel, tmp_path):
    module = loop_module(wheel, tmp_path)
    before = module.read_bytes()
    after, why = elf_strip.strip(before)
    assert why == ""
    assert len(after) < len(before) // 4, "uvloop's module carries DWARF that should be gone"
    stripped = tmp_path / "stripped.so"
    stripped.write_bytes(after)
    sections = readelf(stripped, "-S")
    assert ".debug" not in sections and ".symtab" not in sections
    # (-n is left out: readelf names note addresses after .symtab's symbols.)
    for what in ("-l", "-d", "--dyn-syms", "-V"):
        assert readelf(stripped, what) == readelf(module, what), what
    loads = [
        line.split() for line in readelf(module, "-l").splitlines() if line.split()[:1] == ["LOAD"]
    ]
    loaded_end = max(int(f[1], 16) + int(f[4], 16) for f in loads)
    # The ELF header's section-table fields (e_shoff, e_shnum, e_shstrndx) change; nothing else.
    for start, end in ((0, 40), (48, 60), (64, loaded_end)):
        assert after[start:end] == before[start:end], f"bytes {start}..{end} changed"
    assert elf_strip.strip(after) == (after, "nothing to strip")


def test_what_is_not_a_shared_object_is_left_alone(tmp_path):
    assert elf_strip.strip(b"#!/bin/sh\n") == (b"#!/bin/sh\n", "not an ELF file")
    module = loop_module(WHEELS[0], tmp_path).read_bytes()
    relocatable = module[:16] + (1).to_bytes(2, "little") + module[18:]  # e_type ET_REL
    assert elf_strip.strip(relocatable) == (relocatable, "not a shared object (ET_DYN)")


def test_stripped_module_still_runs(tmp_path):
    (wheel,) = [w for w in WHEELS if "manylinux" in w.name and "x86_64" in w.name]
    module = loop_module(wheel, tmp_path)
    assert subprocess.run(
        [sys.executable, str(TOOL), str(module)], check=True, capture_output=True, text=True
    ).stdout.endswith("bytes\n")
    probe = "import asyncio, uvloop\nasync def f():\n    await asyncio.sleep(0)\n    return 42\nprint(uvloop.run(f()))"
    proc = subprocess.run(
        ["python3.13", "-c", probe],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "42\n"
