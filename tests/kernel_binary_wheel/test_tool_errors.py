"""The drop-in wheel's tool refuses what would not be a drop-in, in one line, leaving no output.

It runs the built tool on the pinned upstream wheel with a replacement upstream
does not have (`ttyd` for `ttyd_linux`), a binary for the other arch, a file that
is not ELF, a version that is not the wheel's, a bad local label, and an upstream
wheel with a binary member no category names; and with good inputs, twice, to
show the same command succeeds and writes the same bytes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"])
TOOL = RUNFILES / os.environ["TOOL"]
UPSTREAM = RUNFILES / os.environ["UPSTREAM"]
TTYD = {
    "x86_64": RUNFILES / os.environ["TTYD_X86_64"],
    "aarch64": RUNFILES / os.environ["TTYD_AARCH64"],
}
OUT = (
    "backend_ai_kernel_binary-26.9.6+krunner.1-py3-none-manylinux2014_x86_64.macosx_11_0_x86_64.whl"
)


@pytest.fixture
def source(tmp_path) -> str:
    """A source spec for ttyd_linux: a PROVENANCE.json as pinned_archive writes it, and a text."""
    lock = json.loads((RUNFILES / os.environ["SOURCES_LOCK"]).read_text())["archives"]["ttyd"]
    prov = tmp_path / "PROVENANCE.json"
    prov.write_text(
        json.dumps(
            {
                "artifact": "upstream",
                "name": "ttyd",
                "version": lock["version"],
                "sha256": lock["sha256"],
                "upstream_sha256": lock["sha256"],
                "upstream_urls": lock["urls"],
                "patches": [],
            }
        )
    )
    text = tmp_path / "LICENSE.ttyd.txt"
    text.write_text("MIT License\n")
    return f"ttyd=ttyd_linux={prov}={text}"


def run(
    tmp_path: Path,
    source: str,
    *,
    replace: str,
    binary: Path,
    version: str = "26.9.6",
    label: str = "krunner.1",
    upstream: Path = UPSTREAM,
):
    """The tool on these inputs: (its process, the wheel it was to write)."""
    out = tmp_path / OUT
    proc = subprocess.run(
        [
            str(TOOL),
            "--upstream", str(upstream),
            "--upstream-version", version,
            "--local-label", label,
            "--arch", "x86_64",
            "--out", str(out),
            "--replace", f"{replace}={binary}",
            "--program", f"{replace}=ttyd",
            "--source", source.replace("=ttyd_linux=", f"={replace}="),
            "--sources-lock", str(RUNFILES / os.environ["SOURCES_LOCK"]),
            "--spdx-schema", str(RUNFILES / os.environ["SPDX_SCHEMA"]),
        ],
        capture_output=True,
        text=True,
    )  # fmt: skip
    return proc, out


def test_good_inputs_make_the_same_wheel_twice(tmp_path, source):
    digests = []
    for attempt in ("first", "second"):
        (tmp_path / attempt).mkdir()
        proc, out = run(tmp_path / attempt, source, replace="ttyd_linux", binary=TTYD["x86_64"])
        assert proc.returncode == 0, proc.stderr
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    assert digests[0] == digests[1]


def test_an_unclassified_upstream_binary_stops_the_build(tmp_path, source):
    """A later upstream release with a new binary is not passed off as a script."""
    upstream = tmp_path / "in" / UPSTREAM.name
    upstream.parent.mkdir()
    shutil.copyfile(UPSTREAM, upstream)
    with zipfile.ZipFile(upstream, "a") as zf:
        zf.writestr("ai/backend/runner/newtool.x86_64.bin", b"\x7fELF")
    proc, out = run(
        tmp_path, source, replace="ttyd_linux", binary=TTYD["x86_64"], upstream=upstream
    )
    assert proc.returncode == 1
    assert proc.stderr.strip() == (
        "kernel_binary_wheel: error: upstream member ai/backend/runner/newtool.x86_64.bin is a "
        "binary no category names: add it to CATEGORIES in "
        "krunner/kernel_binary_wheel/upstream_members.py, or replace it"
    )
    assert not out.exists()


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (
            {"replace": "ttyd"},
            "replacement 'ttyd': ai/backend/runner/ttyd.x86_64.bin is not a member of "
            "backend_ai_kernel_binary-26.9.6-py3-none-manylinux2014_x86_64.macosx_11_0_x86_64.whl; "
            "replace one of its binaries: ",
        ),
        ({"arch_binary": "aarch64"}, "is built for aarch64, not x86_64"),
        ({"not_elf": True}, "is not a 64-bit ELF file"),
        ({"version": "26.9.5"}, "is version 26.9.6, but upstream_version says 26.9.5"),
        ({"label": "krunner_1!"}, "is not a PEP 440 local label"),
    ],
    ids=["not-a-member", "wrong-arch", "not-elf", "wrong-version", "bad-label"],
)
def test_refused_in_one_line(tmp_path, source, kwargs, message):
    binary = TTYD[kwargs.pop("arch_binary", "x86_64")]
    if kwargs.pop("not_elf", False):
        binary = tmp_path / "script.sh"
        binary.write_text("#!/bin/sh\n")
    kwargs.setdefault("replace", "ttyd_linux")
    proc, out = run(tmp_path, source, binary=binary, **kwargs)
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("kernel_binary_wheel: error: "), proc.stderr
    assert message in lines[0]
    assert "Traceback" not in proc.stderr
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
