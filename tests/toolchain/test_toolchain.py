"""The zig toolchains build what they claim: static musl for x86_64 and aarch64,
glibc 2.17 for gnu, and nothing of the build machine's paths inside."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from support.elf import read_elf

RUNFILES = Path(os.environ["TEST_SRCDIR"])
BIN = {
    name: RUNFILES / os.environ[name.upper()]
    for name in (
        "hello_linux_x86_64_musl",
        "hello_linux_aarch64_musl",
        "hello_linux_x86_64_gnu_2_17",
    )
}


@pytest.mark.parametrize(
    "name,machine", [("hello_linux_x86_64_musl", "x86_64"), ("hello_linux_aarch64_musl", "aarch64")]
)
def test_musl_binaries_are_static_for_their_machine(name, machine):
    info = read_elf(BIN[name])
    assert info.machine == machine
    assert info.interpreter is None and info.needed == []


def test_x86_64_runs_natively():
    out = subprocess.run(
        [BIN["hello_linux_x86_64_musl"]], capture_output=True, text=True, check=True
    )
    assert out.stdout == "hello from x86_64\n"


def test_aarch64_runs_under_qemu_user():
    out = subprocess.run(
        ["qemu-aarch64", BIN["hello_linux_aarch64_musl"]],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "hello from aarch64\n"


def test_gnu_2_17_needs_no_newer_glibc_and_runs():
    info = read_elf(BIN["hello_linux_x86_64_gnu_2_17"])
    assert info.interpreter == "/lib64/ld-linux-x86-64.so.2" and "libc.so.6" in info.needed
    assert (2, 2) <= info.max_glibc() <= (2, 17)
    out = subprocess.run(
        [BIN["hello_linux_x86_64_gnu_2_17"]], capture_output=True, text=True, check=True
    )
    assert out.stdout == "hello from x86_64\n"


@pytest.mark.parametrize("name", sorted(BIN))
def test_no_build_paths_inside(name):
    data = BIN[name].read_bytes()
    for needle in (b"/execroot/", b"bazel-out", b"/sandbox/", b"zig-cache", b"/.cache/", b"/tmp/"):
        assert needle not in data, f"{needle!r} found in {name}"
