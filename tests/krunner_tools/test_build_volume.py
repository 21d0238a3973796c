"""build_volume: deterministic, complete, and refusing what cannot go in a volume."""

from __future__ import annotations

import hashlib
import lzma
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

TOOL = os.environ["BUILD_VOLUME"]
X86_ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 11 + (62).to_bytes(2, "little") + b"\0" * 40
ARM_ELF = X86_ELF[:18] + (183).to_bytes(2, "little") + X86_ELF[20:]


def tree(root: Path, files: dict[str, bytes], mode: int = 0o640) -> Path:
    for name, data in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
        p.chmod(mode)
    return root


def build(out: Path, *args: str, arch: str = "x86_64") -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, TOOL, "--out", str(out), "--arch", arch, "--xz-preset", "1", *args],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def inputs(tmp_path):
    runtime = tree(tmp_path / "runtime", {"bin/python3.13": X86_ELF}, 0o750)
    tree(runtime, {"lib/python3.13/os.py": b"# os\n"}, 0o640)
    os.symlink("python3.13", runtime / "bin/python3")
    packages = tree(tmp_path / "pkgs", {"lib/python3.13/site-packages/zmq/__init__.py": b"\n"})
    ttyd = tree(tmp_path / "t", {"ttyd": X86_ELF})
    return runtime, packages, ttyd / "ttyd"


def args_for(runtime, packages, ttyd):
    return [
        "--tree",
        str(runtime),
        "--tree",
        str(packages),
        "--file",
        f"{ttyd}=bin/ttyd:x",
        "--dir",
        "lib/python3.13/site-packages/ai/backend/kernel",
    ]


def test_members_are_relative_sorted_and_normalised(tmp_path, inputs):
    out = tmp_path / "v.tar.xz"
    assert build(out, *args_for(*inputs)).returncode == 0
    with tarfile.open(out) as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names[0] == "." and all(n.startswith("./") for n in names[1:])
    assert names[1:] == sorted(names[1:], key=str.encode)
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {
        (0, 0, "", "", 946684800)
    }
    by_name = {m.name: m for m in members}
    assert by_name["./bin/python3"].issym() and by_name["./bin/python3"].linkname == "python3.13"
    assert (
        by_name["./bin/python3.13"].mode == 0o755
        and by_name["./lib/python3.13/os.py"].mode == 0o644
    )
    assert by_name["./bin/ttyd"].mode == 0o755
    assert by_name["./lib/python3.13/site-packages/ai/backend/kernel"].isdir()


def test_only_programs_are_executable_when_every_input_has_exec_bits(tmp_path):
    # Bazel leaves every action output r-x: the modes must come from what a file is.
    runtime = tree(
        tmp_path / "r",
        {
            "bin/python3.13": X86_ELF,
            "bin/launcher": b"#!/opt/backend.ai/bin/python3\n",
            "lib/libpython3.13.so": X86_ELF,
            "lib/python3.13/os.py": b"# os\n",
            "lib/python3.13/base64.py": b"#! /usr/bin/env python3\n",
            "lib/python3.13/config/install-sh": b"#!/bin/sh\n",
            "licenses/runtime/LICENSE.txt": b"PSF\n",
            "lib/crt1.o": X86_ELF[:16] + (1).to_bytes(2, "little") + X86_ELF[18:],
        },
        0o555,
    )
    out = tmp_path / "v.tar.xz"
    proc = build(out, "--tree", str(runtime))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(out) as tar:
        modes = {m.name[2:]: m.mode for m in tar.getmembers() if m.isfile()}
    assert modes == {
        "bin/python3.13": 0o755,
        "bin/launcher": 0o755,
        "lib/libpython3.13.so": 0o755,
        "lib/python3.13/config/install-sh": 0o755,
        "lib/python3.13/os.py": 0o644,
        "lib/python3.13/base64.py": 0o644,
        "licenses/runtime/LICENSE.txt": 0o644,
        "lib/crt1.o": 0o644,
    }


def test_two_builds_are_identical_and_xz_is_checked(tmp_path, inputs):
    a, b = tmp_path / "a.tar.xz", tmp_path / "b.tar.xz"
    build(a, *args_for(*inputs))
    os.utime(inputs[2], (1, 1))  # mtimes of inputs must not matter
    build(b, *args_for(*inputs))
    assert hashlib.sha256(a.read_bytes()).digest() == hashlib.sha256(b.read_bytes()).digest()
    assert lzma.decompress(a.read_bytes())  # a valid xz stream


def test_wrong_arch_elf_is_refused_by_name(tmp_path, inputs):
    proc = build(tmp_path / "v.tar.xz", *args_for(*inputs), arch="aarch64")
    assert proc.returncode == 1 and "bin/python3.13" in proc.stderr and "not aarch64" in proc.stderr
    assert not (tmp_path / "v.tar.xz").exists()


def test_symlink_escaping_the_root_is_refused(tmp_path, inputs):
    os.symlink("../../../etc/passwd", inputs[0] / "lib/evil")
    proc = build(tmp_path / "v.tar.xz", *args_for(*inputs))
    assert (
        proc.returncode == 1
        and "lib/evil" in proc.stderr
        and "escapes the volume root" in proc.stderr
    )


def test_absolute_symlink_is_refused(tmp_path, inputs):
    os.symlink("/usr/bin/python3", inputs[0] / "bin/py")
    proc = build(tmp_path / "v.tar.xz", *args_for(*inputs))
    assert proc.returncode == 1 and "absolute" in proc.stderr


def test_a_path_from_two_inputs_is_refused(tmp_path, inputs):
    tree(inputs[1], {"bin/ttyd": b"#!/bin/sh\n"})
    proc = build(tmp_path / "v.tar.xz", *args_for(*inputs))
    assert proc.returncode == 1 and "bin/ttyd comes from both" in proc.stderr


def test_escaping_destination_is_refused(tmp_path, inputs):
    proc = build(tmp_path / "v.tar.xz", "--file", f"{inputs[2]}=../ttyd")
    assert proc.returncode == 1 and "escapes the root" in proc.stderr


# Issue 18, finding 10.


def test_a_link_that_escapes_through_another_link_is_refused(tmp_path, inputs):
    """`x/y -> ..` and `x/z -> y/../..` each look inside, but x/z lands above the root."""
    runtime = inputs[0]
    (runtime / "x").mkdir()
    os.symlink("..", runtime / "x/y")
    os.symlink("y/../..", runtime / "x/z")
    proc = build(tmp_path / "v.tar.xz", *args_for(*inputs))
    assert proc.returncode == 1 and "x/z" in proc.stderr and "leaves the volume root" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_link_loop_is_refused(tmp_path, inputs):
    os.symlink("b", inputs[0] / "lib/a")
    os.symlink("a", inputs[0] / "lib/b")
    proc = build(tmp_path / "v.tar.xz", *args_for(*inputs))
    assert proc.returncode == 1 and "loops" in proc.stderr


def test_an_absolute_link_ending_in_its_own_path_is_not_followed_into_the_host(tmp_path, inputs):
    """Taken for Bazel's staging, `etc/secret -> /<host>/etc/secret` copied the host file in."""
    host = tree(tmp_path / "host", {"etc/secret": b"HOST SECRET\n"})
    (inputs[0] / "etc").mkdir()
    os.symlink(host / "etc/secret", inputs[0] / "etc/secret")
    out = tmp_path / "v.tar.xz"
    proc = build(out, *args_for(*inputs))
    if proc.returncode == 0:
        with tarfile.open(out) as tar:
            member = tar.getmember("./etc/secret")
            leaked = member.isfile() and tar.extractfile(member).read() == b"HOST SECRET\n"
        pytest.fail(f"accepted; the host file's bytes are in the volume: {leaked}")
    assert "absolute" in proc.stderr


def test_bazels_staging_links_are_still_followed(tmp_path):
    """A sandboxed tree input: each file an absolute link into the execroot's own copy."""
    tail = "bazel-out/k8-opt/bin/krunner/tree"
    real = tree(tmp_path / "output_base/execroot/_main" / tail, {"bin/python3.13": X86_ELF}, 0o755)
    os.symlink("python3.13", real / "bin/python3")
    staged = tmp_path / "sandbox/execroot/_main" / tail
    (staged / "bin").mkdir(parents=True)
    for name in ("python3.13", "python3"):
        os.symlink(real / "bin" / name, staged / "bin" / name)
    out = tmp_path / "v.tar.xz"
    proc = build(out, "--tree", str(staged))
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(out) as tar:
        assert tar.getmember("./bin/python3.13").isfile()
        assert tar.getmember("./bin/python3").linkname == "python3.13"


def test_launcher_replaces_the_interpreter_links(tmp_path, inputs):
    runtime, packages, ttyd = inputs
    os.symlink("python3", runtime / "bin/python")
    launcher = tree(tmp_path / "l", {"launcher": X86_ELF + b"launcher"}) / "launcher"
    out = tmp_path / "v.tar.xz"
    proc = build(out, *args_for(*inputs), "--python-launcher", f"{launcher}=python3.13")
    assert proc.returncode == 0, proc.stderr
    with tarfile.open(out) as tar:
        by_name = {m.name[2:]: m for m in tar.getmembers()}
        for name in ("bin/python", "bin/python3"):
            assert by_name[name].isfile() and by_name[name].mode == 0o755, name
            assert tar.extractfile(by_name[name]).read() == X86_ELF + b"launcher"
        assert tar.extractfile(by_name["bin/python3.13"]).read() == X86_ELF  # the interpreter stays


def test_launcher_without_its_interpreter_is_refused(tmp_path, inputs):
    runtime, packages, ttyd = inputs
    os.symlink("python3", runtime / "bin/python")
    launcher = tree(tmp_path / "l", {"launcher": X86_ELF}) / "launcher"
    proc = build(
        tmp_path / "v.tar.xz", *args_for(*inputs), "--python-launcher", f"{launcher}=python3.14"
    )
    assert proc.returncode == 1
    assert "the launcher runs bin/python3.14, which no tree provides as a file" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_launcher_replaces_copies_of_the_interpreter_but_nothing_else(tmp_path, inputs):
    # a tree artifact from Bazel's cache has its links materialised as copies
    runtime, packages, ttyd = inputs
    os.unlink(runtime / "bin/python3")
    tree(runtime, {"bin/python3": X86_ELF, "bin/python": X86_ELF}, 0o750)
    launcher = tree(tmp_path / "l", {"launcher": X86_ELF + b"launcher"}) / "launcher"
    assert (
        build(
            tmp_path / "v.tar.xz", *args_for(*inputs), "--python-launcher", f"{launcher}=python3.13"
        ).returncode
        == 0
    )
    tree(runtime, {"bin/python": X86_ELF + b"something else"}, 0o750)
    proc = build(
        tmp_path / "w.tar.xz", *args_for(*inputs), "--python-launcher", f"{launcher}=python3.13"
    )
    assert (
        proc.returncode == 1
        and "bin/python should be a link to (or a copy of) bin/python3.13" in proc.stderr
    )
