"""The runner's imports load byte-code from the read-only volume, never compile source.

A volume is mounted read-only, so Python cannot write a __pycache__: a module
without a usable .pyc is compiled from source at every start of every
kernel. The volume's pycs are unchecked-hash ones (runtime_tree, pyc.py), valid
without reading the source. `python -v` reports, per module from a file:

- from a pyc: `# <pyc> matches <py>`, then `# code object from '<pyc>'`;
- from source: `# code object from <py>` (the pyc missing, stale or unreadable).

This runs `python -v -c 'import asyncio, zmq, uvloop, jupyter_client'` as
uid 1000 in the image and fails on any module compiled from source.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from support import image

ARCH = os.environ["ARCH"]
RUNFILES = Path(os.environ["TEST_SRCDIR"])
VOLUME = RUNFILES / os.environ["VOLUME"]
ROOT = Path(os.path.realpath(RUNFILES / os.environ["ROOTFS"])).parent / "root"
IMPORTS = "import asyncio, zmq, uvloop, jupyter_client"
CODE_FROM = re.compile(r"^# code object from '?(?P<path>[^']+)'?$")
MATCHES = re.compile(r"^# (?P<pyc>\S+\.pyc) matches (?P<py>\S+\.py)$")


@pytest.fixture(scope="module")
def verbose_import(tmp_path_factory):
    volume = image.extract_volume(VOLUME, tmp_path_factory.mktemp("volume"))
    return image.run(
        ROOT,
        volume,
        ["/opt/backend.ai/bin/python", "-s", "-v", "-c", IMPORTS],
        arch=ARCH,
        timeout=600,
    )


def test_the_imports_succeed(verbose_import):
    errors = [
        line for line in verbose_import.stderr.splitlines() if not line.startswith(("#", "import "))
    ]
    assert verbose_import.returncode == 0, "\n".join(errors[-20:])


def test_runner_imports_come_from_pycs(verbose_import):
    """Checked on every module imported, also when an import above failed part-way."""
    lines = verbose_import.stderr.splitlines()
    from_source = [
        m["path"] for line in lines if (m := CODE_FROM.match(line)) and m["path"].endswith(".py")
    ]
    from_pyc = [m["pyc"] for line in lines if (m := MATCHES.match(line))]
    assert not from_source, f"compiled from source, not read from a pyc: {from_source}"
    assert len(from_pyc) > 50, (
        "python -v reported too few modules read from pycs: its output changed?"
    )
    assert all(p.startswith("/opt/backend.ai/") for p in from_pyc)
    stale = [line for line in lines if "bytecode is stale" in line or "could not create" in line]
    assert not stale, stale
