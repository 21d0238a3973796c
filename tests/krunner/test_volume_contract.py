"""Each built volume honours the agent's contract and its libc's rules.

Run once per volume: KEY (e.g. static_gnu_x86_64) and VOLUME (the .tar.xz) come
from the BUILD file. ELF rules: static-gnu needs at most GLIBC_2.17 everywhere;
musl volumes load through /lib/ld-musl-<arch>.so.1 and find every library inside
the volume, except the exact IMAGE_LIBS a substitute runtime takes from the image.
"""

from __future__ import annotations

import json
import os
import posixpath
import tarfile
from pathlib import Path

import pytest
from support.elf import is_elf, read_elf

KEY = os.environ["KEY"]
ARCH = "aarch64" if KEY.endswith("aarch64") else "x86_64"
MUSL = KEY.startswith("alpine")
RUNFILES = Path(os.environ["TEST_SRCDIR"])
VOLUME = RUNFILES / os.environ["VOLUME"]
PROVENANCE = json.loads((RUNFILES / os.environ["RUNTIME_PROVENANCE"]).read_text())
SITE = "lib/python3.13/site-packages"


@pytest.fixture(scope="module")
def members():
    with tarfile.open(VOLUME) as tar:
        return {m.name: m for m in tar.getmembers()}


@pytest.fixture(scope="module")
def root(tmp_path_factory, members):
    dest = tmp_path_factory.mktemp("volume")
    with tarfile.open(VOLUME) as tar:
        tar.extractall(dest, filter="tar")
    return dest


def test_members_are_relative_and_owned_by_root(members):
    for name, m in members.items():
        assert name == "." or name.startswith("./"), name
        assert ".." not in name.split("/") and (m.uid, m.gid) == (0, 0)


def test_agent_mount_points_and_entry_files(members):
    for mount in ("kernel", "helpers"):
        path = f"./{SITE}/ai/backend/{mount}"
        assert members[path].isdir()
        assert not [n for n in members if n.startswith(path + "/")], f"{path} must be empty"
    for exe in ("bin/python", "bin/python3", "bin/ttyd"):
        assert f"./{exe}" in members, exe
    for f in ("sbom.cdx.json", "licenses/runtime/CPython.txt", "licenses/ttyd/ttyd.txt"):
        assert members[f"./{f}"].isfile(), f


def test_every_elf_is_for_the_volume_arch(root):
    elves = [p for p in root.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p)]
    assert len(elves) > 3
    wrong = {
        str(p.relative_to(root)): read_elf(p).machine for p in elves if read_elf(p).machine != ARCH
    }
    assert not wrong


def test_python_is_the_static_launcher(root):
    # bin/python runs bin/python3.13 with -E (krunner/launcher): a static ELF, not a link
    for name in ("bin/python", "bin/python3"):
        path = root / name
        assert not path.is_symlink(), (
            f"{name} is a link: the image's PYTHON* variables would steer it"
        )
        info = read_elf(path)
        assert info.static and info.machine == ARCH, name
    assert not (root / "bin/python3.13").is_symlink()
    assert (root / SITE / "_krunner_environ.pth").read_text().startswith("import os;")


def test_ttyd_is_static(root):
    info = read_elf(root / "bin/ttyd")
    assert info.static and info.machine == ARCH


# What manylinux2014 lets a wheel take from any glibc image; nothing else may be missing.
MANYLINUX_SYSTEM_LIBS = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "libutil.so.1",
    "libstdc++.so.6",
    "libgcc_s.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
}


@pytest.mark.skipif(MUSL, reason="glibc rule")
def test_static_gnu_takes_only_manylinux_system_libs_from_the_image(root):
    missing = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink() and is_elf(p):
            info = read_elf(p)
            for lib in info.needed:
                if lib not in MANYLINUX_SYSTEM_LIBS and not _resolves_inside(
                    root, p, lib, info.runpath
                ):
                    missing.setdefault(lib, []).append(str(p.relative_to(root)))
    assert not missing


@pytest.mark.skipif(MUSL, reason="glibc rule")
def test_static_gnu_needs_at_most_glibc_2_17(root):
    too_new = {}
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink() and is_elf(p) and read_elf(p).max_glibc() > (2, 17):
            too_new[str(p.relative_to(root))] = read_elf(p).max_glibc()
    assert not too_new


def _resolves_inside(root: Path, elf_path: Path, lib: str, runpath: list[str]) -> bool:
    if "/" in lib:  # e.g. $ORIGIN/../lib/libpython3.13.so.1.0
        return (elf_path.parent / lib.replace("$ORIGIN", ".")).resolve().exists()
    dirs = [d.replace("$ORIGIN", str(elf_path.parent)) for d in runpath]
    return any(Path(d, lib).exists() for d in dirs)


@pytest.mark.skipif(not MUSL, reason="musl rule")
def test_musl_elves_use_musl_and_resolve_in_the_volume(root):
    loader = f"/lib/ld-musl-{ARCH}.so.1"
    unresolved = set()
    for p in root.rglob("*"):
        if not (p.is_file() and not p.is_symlink() and is_elf(p)):
            continue
        info = read_elf(p)
        assert info.interpreter in (None, loader), f"{p}: interpreter {info.interpreter}"
        for lib in info.needed:
            # zig links musl's libc as `libc.so`, Alpine's builds as libc.musl-<arch>.so.1:
            # musl's loader serves both names itself.
            if lib in ("libc.so", "libc.musl-{}.so.1".format(ARCH), posixpath.basename(loader)):
                continue
            if not _resolves_inside(root, p, lib, info.runpath):
                unresolved.add(lib)
    assert not unresolved, "every library an ELF needs, but musl's libc, must be inside the volume"
