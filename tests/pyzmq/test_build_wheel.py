"""build_wheel: the sdist's package plus a built module, as a wheel pip and install_wheels accept."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

TOOL = os.environ["BUILD_WHEEL"]
NAME = "demo-1.0-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"


def sdist(tmp: Path) -> Path:
    root = tmp / "demo-1.0"
    (root / "demo/sub").mkdir(parents=True)
    (root / "demo/__init__.py").write_text("X = 1\n")
    (root / "demo/sub/_ext.py").write_text("# the Cython source\n")
    (root / "demo/sub/__pycache__").mkdir()
    (root / "demo/sub/__pycache__/junk.pyc").write_bytes(b"x")
    (root / "PKG-INFO").write_text(
        "Metadata-Version: 2.4\nName: demo\nVersion: 1.0\nLicense-Expression: MIT\n"
        "License-File: OLD\n\nLong description.\n"
    )
    (root / "LICENSE.md").write_text("MIT\n")
    return root


def build(tmp: Path, expect: str = NAME) -> subprocess.CompletedProcess:
    root = sdist(tmp)
    (tmp / "ext.so").write_bytes(b"\x7fELF fake")
    (tmp / "COPYING").write_text("LGPL\n")
    return subprocess.run(
        [
            sys.executable,
            TOOL,
            "--sdist-root",
            str(root),
            "--package",
            "demo",
            "--extension",
            f"{tmp / 'ext.so'}=demo/sub/_ext.cpython-313-x86_64-linux-gnu.so",
            "--license",
            "LICENSE.md",
            "--extra-license",
            f"{tmp / 'COPYING'}=licenses/lib/COPYING",
            "--tag",
            "cp313-cp313-manylinux_2_17_x86_64",
            "--tag",
            "cp313-cp313-manylinux2014_x86_64",
            "--out",
            str(tmp / "out.whl"),
            "--expect-name",
            expect,
        ],
        capture_output=True,
        text=True,
    )


def test_wheel_members_metadata_and_record(tmp_path):
    proc = build(tmp_path)
    assert proc.returncode == 0, proc.stderr
    with zipfile.ZipFile(tmp_path / "out.whl") as zf:
        names = zf.namelist()
        assert names == [
            "demo/__init__.py",
            "demo/sub/_ext.cpython-313-x86_64-linux-gnu.so",
            "demo/sub/_ext.py",
            "demo-1.0.dist-info/METADATA",
            "demo-1.0.dist-info/WHEEL",
            "demo-1.0.dist-info/licenses/LICENSE.md",
            "demo-1.0.dist-info/licenses/licenses/lib/COPYING",
            "demo-1.0.dist-info/top_level.txt",
            "demo-1.0.dist-info/RECORD",
        ]
        meta = zf.read("demo-1.0.dist-info/METADATA").decode()
        assert "License-File: OLD" not in meta
        assert "License-File: LICENSE.md\nLicense-File: licenses/lib/COPYING\n" in meta
        assert meta.endswith("\n\nLong description.\n")
        wheel = zf.read("demo-1.0.dist-info/WHEEL").decode()
        assert (
            "Root-Is-Purelib: false" in wheel and "Tag: cp313-cp313-manylinux2014_x86_64" in wheel
        )
        ext = zf.getinfo("demo/sub/_ext.cpython-313-x86_64-linux-gnu.so")
        assert ext.external_attr >> 16 == 0o100755 and ext.date_time == (1980, 1, 1, 0, 0, 0)
        record = zf.read("demo-1.0.dist-info/RECORD").decode().splitlines()
        assert len(record) == len(names) and record[-1] == "demo-1.0.dist-info/RECORD,,"
    first = (tmp_path / "out.whl").read_bytes()
    again = tmp_path / "again"
    again.mkdir()
    assert build(again).returncode == 0
    assert (again / "out.whl").read_bytes() == first


def test_declared_name_must_match_the_tags(tmp_path):
    proc = build(tmp_path, expect="demo-1.0-cp313-cp313-musllinux_1_2_x86_64.whl")
    assert proc.returncode == 1 and NAME in proc.stderr
