"""pyzmq, built here from its sdist against libzmq built from source, in each volume.

- In the oldest and newest test image of its libc (tests/rootfs, which have no
  libstdc++ or libgcc_s), entered as support.image enters them, the volume's
  interpreter imports zmq, runs a PAIR and a PUSH/PULL round trip over TCP, and
  zmq reports the pinned libzmq and pyzmq versions.
- The extension module needs nothing but the image's libc: for glibc, only
  libc, libm, libpthread, libdl, librt and the loader, at symbol versions up to
  GLIBC_2.17; for musl, only musl's libc. It exports PyInit__zmq alone (the C++
  runtime and libzmq inside stay local), and imports nothing unversioned but
  Python's own API.
- No ELF file of the volume needs a C++ runtime from the image (libstdc++,
  libgcc_s): manylinux allows those, but a minimal image lacks them.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from support import image
from support.elf import dynamic_symbols, exported, is_elf, read_elf

ARCH = os.environ["ARCH"]
MUSL = "musl" in os.environ["IMAGE"]
RUNFILES = Path(os.environ["TEST_SRCDIR"])
VOLUME = RUNFILES / os.environ["VOLUME"]
ROOT = Path(os.path.realpath(RUNFILES / os.environ["ROOTFS"])).parent / "root"
LIBZMQ = json.loads((RUNFILES / os.environ["SOURCES_LOCK"]).read_text())["archives"]["libzmq"][
    "version"
]
PYZMQ = {
    s["project"]: s
    for s in json.loads((RUNFILES / os.environ["SDISTS_LOCK"]).read_text())["sdists"]
}["pyzmq"]
GLIBC_LIBS = {
    "libc.so.6",
    "libm.so.6",
    "libpthread.so.0",
    "libdl.so.2",
    "librt.so.1",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
}
PROBE = r"""
import json, zmq
ctx = zmq.Context()
out = {"zmq": zmq.zmq_version(), "pyzmq": zmq.pyzmq_version(), "backend": zmq.backend.cython._zmq.__file__}
a, b = ctx.socket(zmq.PAIR), ctx.socket(zmq.PAIR)
port = a.bind_to_random_port("tcp://127.0.0.1")
b.connect(f"tcp://127.0.0.1:{port}")
b.send(b"ping"); got = a.recv(); a.send_multipart([got, b"pong"])
out["pair"] = [m.decode() for m in b.recv_multipart()]
push, pull = ctx.socket(zmq.PUSH), ctx.socket(zmq.PULL)
port = pull.bind_to_random_port("tcp://127.0.0.1")
push.connect(f"tcp://127.0.0.1:{port}")
for i in range(100):
    push.send_string(str(i))
out["pushpull"] = sum(int(pull.recv_string()) for _ in range(100))
for s in (a, b, push, pull):
    s.close(linger=0)
ctx.term()
import ctypes
for lib in ("libgcc_s.so.1", "libstdc++.so.6"):
    try:
        ctypes.CDLL(lib); out[lib] = "loaded"
    except OSError:
        out[lib] = "absent"
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    return image.extract_volume(VOLUME, tmp_path_factory.mktemp("volume"))


@pytest.fixture(scope="module")
def extension(volume):
    found = sorted(volume.glob("lib/python3.13/site-packages/zmq/backend/cython/_zmq*.so"))
    assert len(found) == 1, found
    return found[0]


def test_the_image_has_no_cxx_runtime():
    assert not list(ROOT.glob("**/libstdc++.so*")) and not list(ROOT.glob("**/libgcc_s.so*"))


def test_round_trips_and_versions_in_the_image(volume):
    proc = image.run(
        ROOT, volume, ["/opt/backend.ai/bin/python3", "-s", "-c", PROBE], arch=ARCH, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["zmq"] == LIBZMQ
    assert out["pyzmq"] == PYZMQ["version"]
    assert out["pair"] == ["ping", "pong"]
    assert out["pushpull"] == sum(range(100))
    assert out["backend"].startswith("/opt/backend.ai/")
    assert out["libgcc_s.so.1"] == out["libstdc++.so.6"] == "absent", "the image has a C++ runtime"


def test_extension_is_the_one_built_here(extension):
    soabi = f"cpython-313-{ARCH}-linux-{'musl' if MUSL else 'gnu'}"
    assert extension.name == f"_zmq.{soabi}.so"


def test_extension_needs_only_libc(extension):
    info = read_elf(extension)
    assert info.machine == ARCH and not info.has_symtab and not info.runpath
    if MUSL:
        assert set(info.needed) <= {"libc.so", f"ld-musl-{ARCH}.so.1"}, info.needed
    else:
        assert set(info.needed) <= GLIBC_LIBS, info.needed
        assert info.max_glibc() <= (2, 17), info.version_needs
        assert set(info.version_needs) <= GLIBC_LIBS


def test_extension_exports_only_its_init(extension):
    assert exported(dynamic_symbols(extension)) == {"PyInit__zmq"}


def test_extension_imports_only_libc_and_python(extension):
    stray = []
    for s in dynamic_symbols(extension):
        if s.defined or re.match(r"_?Py|PyExc_|_Py", s.name):
            continue
        if MUSL:
            continue  # musl's libc has no symbol versions; needed libraries are checked above
        if s.version is None and s.binding != 2:
            stray.append(s.name)
        elif s.version and not s.version.startswith("GLIBC_"):
            stray.append(f"{s.name}@{s.version}")
    assert not stray, "imports that no glibc <= 2.17 provides (C++ runtime?)"


def test_no_elf_in_the_volume_needs_a_cxx_runtime(volume):
    needs = {}
    for p in volume.rglob("*"):
        if p.is_file() and not p.is_symlink() and is_elf(p):
            bad = [
                lib
                for lib in read_elf(p).needed
                if lib.startswith(("libstdc++", "libgcc_s", "libc++"))
            ]
            if bad:
                needs[str(p.relative_to(volume))] = bad
    assert not needs
