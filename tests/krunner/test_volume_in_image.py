"""Run what is in a volume inside a minimal image, as a container would.

The volume is extracted as the agent's extractor does and mounted read-only
at /opt/backend.ai of a root made from Debian packages (support.image): a
glibc image has only libc6 and dash (no libstdc++, no libgcc_s), a musl image
only musl and busybox-static. Trixie's libc is the newest a volume meets,
bullseye's (glibc 2.31, musl 1.2.2 as in Alpine 3.13/3.14) the oldest here.
Everything runs as uid 1000 with LD_LIBRARY_PATH=/opt/backend.ai/lib, aarch64
under qemu-user. Inside: every module the runners import, Python's version,
and ttyd --version.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from support import image

ARCH = os.environ["ARCH"]
RUNFILES = Path(os.environ["TEST_SRCDIR"])
VOLUME = RUNFILES / os.environ["VOLUME"]
# The root's files are read through their real location, not runfiles links.
ROOT = Path(os.path.realpath(RUNFILES / os.environ["ROOTFS"])).parent / "root"
MODULES = [
    "ssl",
    "zlib",
    "sqlite3",
    "zmq",
    "uvloop",
    "attrs",
    "msgpack",
    "janus",
    "jupyter_client",
    "setproctitle",
    "async_timeout",
    "asyncio",
    "json",
    "ctypes",
    "lzma",
    "bz2",
    "binascii",
    "urllib.request",
]
PROBE = """\
import importlib, json, sys
res = {}
for m in sys.argv[1:]:
    try:
        importlib.import_module(m)
        res[m] = "ok"
    except Exception as e:
        res[m] = f"{type(e).__name__}: {e}"
print(json.dumps(res))
"""


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    return image.extract_volume(VOLUME, tmp_path_factory.mktemp("volume"))


def run(volume: Path, *argv: str):
    return image.run(ROOT, volume, list(argv), arch=ARCH, timeout=600)


def test_the_image_has_no_python_and_no_libstdcxx():
    assert not list(ROOT.glob("usr/bin/python*"))
    assert not list(ROOT.glob("**/libstdc++.so*")) and not list(ROOT.glob("**/libgcc_s.so*"))


def test_every_runner_module_imports(volume):
    proc = run(volume, "/opt/backend.ai/bin/python3", "-s", "-c", PROBE, *MODULES)
    if proc.returncode == 0:
        results = json.loads(proc.stdout)
    else:  # the interpreter died (a crash in a library's loading): one process per module says where
        results = {}
        for module in MODULES:
            one = run(volume, "/opt/backend.ai/bin/python3", "-s", "-c", PROBE, module)
            results[module] = (
                json.loads(one.stdout)[module]
                if one.returncode == 0
                else f"the interpreter died with exit status {one.returncode} {one.stderr.strip()[-300:]}"
            )
    failed = {m: err for m, err in results.items() if err != "ok"}
    assert not failed, f"modules that do not import in {os.environ['IMAGE']}: {failed}"


def test_python_reports_its_version(volume):
    proc = run(
        volume,
        "/opt/backend.ai/bin/python",
        "-c",
        "import os, sys, platform; print(sys.version_info[:2], platform.machine(), sys.prefix, os.getuid())",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0:2] == ["(3,", "13)"]
    assert proc.stdout.split()[2:] == [ARCH, "/opt/backend.ai", "1000"]


def test_ttyd_runs_in_the_image(volume):
    proc = run(volume, "/opt/backend.ai/bin/ttyd", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ttyd version 1.7.7"


def test_ctypes_callbacks_run(volume):
    # A C function calling back into Python goes through a libffi closure; on
    # aarch64 libffi's static trampolines crashed every one of them (signal 11).
    probe = (
        "import ctypes\n"
        "cmp = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))"
        "(lambda a, b: a[0] - b[0])\n"
        "values = (ctypes.c_int * 4)(3, 1, 4, 2)\n"
        "ctypes.CDLL(None).qsort(values, 4, ctypes.sizeof(ctypes.c_int), cmp)\n"
        "print(list(values))"
    )
    proc = run(volume, "/opt/backend.ai/bin/python3", "-s", "-c", probe)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[1, 2, 3, 4]"
