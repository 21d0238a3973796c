"""The static-gnu volume in trimmed glibc images, and its stubs nowhere else.

Trimmed images (NVIDIA NIM) delete libpthread.so.0, libdl.so.2, librt.so.1 and
libutil.so.1, which glibc >= 2.34 keeps only as empty stubs. Here the test's
root (trixie, glibc 2.41, or bullseye, 2.31) is copied and those four files are
deleted from the copy. In the trimmed trixie copy the interpreter must start,
import what the runner imports, and run the published 23.9 runner (`status`,
batch `exec`) with the volume's stand-ins (lib/krunner/glibc-stubs) loaded by
the launcher. In the untouched root the runner must run without them, and the
shell it starts must see neither the stubs nor a changed LD_LIBRARY_PATH. A
trimmed bullseye (2.31: those libraries hold real code) must not be patched
over with stubs: the loader's own error names the missing library.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import runner_process
from runner_process import AGENT_MOUNTS, ARCH, OP_TIMEOUT, ROOT, START_TIMEOUT, VOLUME
from support import image

NEW_GLIBC = os.environ["IMAGE"].startswith("trixie")  # 2.41; bullseye is 2.31
COMPAT = ["libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1"]
# What the runner imports at start, and the extension modules that list the four libraries.
IMPORTS = (
    "import asyncio, ctypes, ssl, hashlib, sqlite3, zlib, lzma, uuid, json, msgpack, zmq, janus, "
    "attrs, jupyter_client, uvloop; "
    "print('stubs', sum('glibc-stubs' in line for line in open('/proc/self/maps')))"
)
# Counts the runner's (the shell's parent) and the shell's own mappings of the stubs, and its LD_LIBRARY_PATH.
EXEC = (
    'count() { n=0; while read -r l; do case "$l" in *glibc-stubs*) n=$((n+1));; esac; done < $1; echo $n; }; '
    'echo "runner $(count /proc/$PPID/maps)"; echo "shell $(count /proc/self/maps)"; '
    'echo "LD_LIBRARY_PATH=$LD_LIBRARY_PATH"'
)


@pytest.fixture(scope="module")
def volume(tmp_path_factory) -> Path:
    return image.extract_volume(VOLUME, tmp_path_factory.mktemp("volume") / "volume")


@pytest.fixture(scope="module")
def trimmed(tmp_path_factory) -> Path:
    """A copy of the root without the four compat libraries, as a trimmed image has it."""
    root = tmp_path_factory.mktemp("trimmed") / "root"
    shutil.copytree(ROOT, root, symlinks=True)
    deleted = [p for p in root.rglob("*") if p.name in COMPAT and (p.is_file() or p.is_symlink())]
    assert sorted({p.name for p in deleted}) == sorted(COMPAT), deleted  # the root had all four
    for p in deleted:
        p.unlink()
    return root


def test_volume_carries_the_stubs(volume):
    assert sorted(p.name for p in (volume / "lib/krunner/glibc-stubs").iterdir()) == sorted(COMPAT)


def test_interpreter_in_the_trimmed_root(volume, trimmed):
    proc = image.run(
        trimmed, volume, ["/opt/backend.ai/bin/python", "-s", "-c", IMPORTS], arch=ARCH, timeout=600
    )
    if NEW_GLIBC:
        assert proc.returncode == 0, proc.stderr
        assert int(proc.stdout.split()[-1]) > 0  # the stand-ins are what it loaded
        assert (
            proc.stderr == ""
        )  # no loader warning: the stubs define the version nodes our files name
    else:
        # glibc < 2.34: those libraries held real code, so no stand-in may take their place
        assert proc.returncode == 127, (proc.stdout, proc.stderr)
        assert "libpthread.so.0: cannot open shared object file" in proc.stderr


def test_interpreter_in_the_untouched_root_loads_no_stub(volume):
    proc = image.run(
        ROOT, volume, ["/opt/backend.ai/bin/python", "-s", "-c", IMPORTS], arch=ARCH, timeout=600
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "0"


@pytest.mark.parametrize("which", ["trimmed", "untouched"])
def test_runner(volume, trimmed, tmp_path, which):
    if which == "trimmed" and not NEW_GLIBC:
        pytest.skip("a trimmed glibc < 2.34 image cannot run glibc 2.17 programs at all")
    with runner_process.started(
        trimmed if which == "trimmed" else ROOT,
        volume,
        "app",
        arch=ARCH,
        log_path=tmp_path / "runner.log",
        mounts=AGENT_MOUNTS,
    ) as runner:
        client, proc, log = runner
        runner_process.status(client, proc, log, START_TIMEOUT)
        code, out, err, replies = client.run("exec", EXEC, OP_TIMEOUT)
        assert code == 0, (replies, err)
        runner_maps = "runner 0" if which == "untouched" else None
        lines = out.splitlines()
        assert lines[1:] == ["shell 0", "LD_LIBRARY_PATH=/opt/backend.ai/lib"], out
        if runner_maps:
            assert lines[0] == runner_maps, out
        else:
            assert lines[0] != "runner 0", out
