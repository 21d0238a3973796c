"""Run what is in a volume inside a minimal image, as a container would.

The volume is extracted as the agent's extractor does (tar xJf into an empty
directory) and bind-mounted at /opt/backend.ai of a root filesystem made from
Debian packages (glibc: libc6 and dash; musl: musl and busybox-static), entered
with a user and mount namespace and chroot; arm64 runs under static qemu-user
bind-mounted into the image. Inside: the runner's imports and ttyd --version.
"""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

KEY = os.environ["KEY"]
ARCH = "aarch64" if KEY.endswith("aarch64") else "x86_64"
RUNFILES = Path(os.environ["TEST_SRCDIR"])
VOLUME = RUNFILES / os.environ["VOLUME"]
PROVENANCE = json.loads((RUNFILES / os.environ["RUNTIME_PROVENANCE"]).read_text())
# The image's root: its files are read through their real location, not runfiles links.
ROOT = Path(os.path.realpath(RUNFILES / os.environ["ROOTFS_MARKER"])).parent.parent
MODULES = ["ssl", "zlib", "sqlite3", "zmq", "uvloop", "attrs", "msgpack", "janus", "jupyter_client",
           "setproctitle", "async_timeout", "asyncio", "json", "ctypes", "lzma", "bz2"]
ENTER = r"""
set -e
root=$1 vol=$2 qemu=$3; shift 3
mount --rbind /dev "$root/dev"
mount --rbind /proc "$root/proc"
mount --bind "$vol" "$root/opt/backend.ai"
if [ -n "$qemu" ]; then mount --bind "$qemu" "$root/.krunner/qemu"; set -- /.krunner/qemu "$@"; fi
exec chroot "$root" "$@"
"""


@pytest.fixture(scope="module")
def volume(tmp_path_factory):
    dest = tmp_path_factory.mktemp("volume")
    with tarfile.open(VOLUME) as tar:  # what `tar xJf archive -C /root/volume/` does
        tar.extractall(dest, filter="tar")
    return dest


def run_in_image(volume: Path, *argv: str) -> subprocess.CompletedProcess:
    qemu = "/usr/bin/qemu-aarch64" if ARCH == "aarch64" else ""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOME": "/tmp",
           "LANG": "C.UTF-8"}
    # A substitute runtime built for /usr (Alpine's) finds libpython only this way;
    # chroot passes it on to the interpreter (the host tools have no such path).
    if PROVENANCE.get("ld_library_path"):
        env["LD_LIBRARY_PATH"] = PROVENANCE["ld_library_path"]
    cmd = ["unshare", "--user", "--map-root-user", "--mount", "/bin/sh", "-c", ENTER, "enter",
           str(ROOT), str(volume), qemu, *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)


def test_the_image_has_no_python_of_its_own():
    assert not list(ROOT.glob("usr/bin/python*"))


def test_runner_modules_import(volume):
    probe = ("import importlib, json, sys\nres = {}\nfor m in sys.argv[1:]:\n"
             "    try:\n        importlib.import_module(m); res[m] = 'ok'\n"
             "    except ImportError as e:\n        res[m] = str(e)\nprint(json.dumps(res))")
    proc = run_in_image(volume, "/opt/backend.ai/bin/python3", "-s", "-c", probe, *MODULES)
    assert proc.returncode == 0, proc.stderr
    results = json.loads(proc.stdout)
    failed = {m: err for m, err in results.items() if err != "ok"}
    image_libs = PROVENANCE.get("image_libs", [])
    if not image_libs:
        assert not failed, "a pbs runtime must import everything"
    else:
        # A substitute runtime that takes libraries from the image (this test image has
        # none of them) may fail only where one of those declared libraries is missing;
        # uvloop (via ssl) and jupyter_client (via binascii and zlib) do, in a bare image.
        for module, err in failed.items():
            assert any(f"library {lib}:" in err for lib in image_libs), f"{module}: {err}"
        assert {"zmq", "attrs", "msgpack", "janus", "setproctitle", "async_timeout", "asyncio",
                "json"}.isdisjoint(failed)


def test_python_reports_its_version(volume):
    proc = run_in_image(volume, "/opt/backend.ai/bin/python", "-c",
                        "import sys, platform; print(sys.version_info[:2], platform.machine(), sys.prefix)")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0:2] == ["(3,", "13)"]
    assert ARCH in proc.stdout and "/opt/backend.ai" in proc.stdout


def test_ttyd_runs_in_the_image(volume):
    proc = run_in_image(volume, "/opt/backend.ai/bin/ttyd", "--version")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ttyd version 1.7.7"
