"""wheelmaker: the files the agent reads, a valid RECORD, reproducible bytes."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

TOOL = os.environ["WHEELMAKER"]
PLUGIN = os.environ["PLUGIN"]
NAME = "backend_ai_krunner_static_gnu-9.9.9-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.macosx_11_0_x86_64.whl"
TAGS = ["manylinux2014_x86_64", "musllinux_1_1_x86_64", "macosx_11_0_x86_64"]


def make(
    tmp_path: Path, name: str = NAME, arch: str = "x86_64", tags=TAGS, package: str = "static_gnu"
) -> subprocess.CompletedProcess:
    vol = tmp_path / "vol.tar.xz"
    vol.write_bytes(b"volume bytes")
    lic = tmp_path / "LICENSE.ttyd.txt"
    lic.write_text("MIT\n")
    cmd = [
        sys.executable,
        TOOL,
        "--out",
        str(tmp_path / name),
        "--distribution",
        "backend.ai-krunner-static-gnu",
        "--version",
        "9.9.9",
        "--summary",
        "test",
        "--package",
        package,
        "--distro-key",
        "static-gnu",
        "--arch",
        arch,
        "--volume",
        str(vol),
        "--plugin",
        PLUGIN,
        "--volume-version",
        "15",
        "--python-version",
        "3.13",
        "--license",
        f"{lic}=LICENSE.ttyd.txt",
    ] + [a for t in tags for a in ("--platform-tag", t)]
    return subprocess.run(cmd, capture_output=True, text=True)


def test_agent_files_and_metadata(tmp_path):
    assert make(tmp_path).returncode == 0
    with zipfile.ZipFile(tmp_path / NAME) as zf:

        def read(n):
            return zf.read(n).decode()

        pkg = "ai/backend/krunner/static_gnu/"
        assert read(pkg + "versions.txt").splitlines() == ["static-gnu"]
        assert int(read(pkg + "krunner-version.static-gnu.txt")) == 15
        assert read(pkg + "krunner-python.static-gnu.txt").strip() == "3.13"
        assert zf.read(pkg + "krunner-env.static-gnu.x86_64.tar.xz") == b"volume bytes"
        assert "async def init(config" in read(pkg + "plugin.py")
        assert '__version__ = "9.9.9"' in read(pkg + "__init__.py")
        di = "backend_ai_krunner_static_gnu-9.9.9.dist-info/"
        assert "static_gnu = ai.backend.krunner.static_gnu.plugin" in read(di + "entry_points.txt")
        assert [line for line in read(di + "WHEEL").splitlines() if line.startswith("Tag:")] == [
            f"Tag: py3-none-{t}" for t in TAGS
        ]
        assert read(di + "licenses/LICENSE.ttyd.txt") == "MIT\n"
        assert not [n for n in zf.namelist() if n in ("ai/__init__.py", "ai/backend/__init__.py")]
        names = zf.namelist()
        assert names[-1] == di + "RECORD" and names[:-1] == sorted(
            names[:-1], key=lambda n: (n.startswith(di), n)
        )
        assert {i.date_time for i in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_record_lists_every_file_with_its_hash(tmp_path):
    make(tmp_path)
    with zipfile.ZipFile(tmp_path / NAME) as zf:
        record = (
            zf.read("backend_ai_krunner_static_gnu-9.9.9.dist-info/RECORD").decode().splitlines()
        )
        rows = dict((r.split(",")[0], r.split(",")[1:]) for r in record)
        assert set(rows) == set(zf.namelist())
        for name, (digest, size) in rows.items():
            if name.endswith("RECORD"):
                continue
            data = zf.read(name)
            assert (
                digest
                == "sha256="
                + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            )
            assert int(size) == len(data)


def test_reproducible(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    make(a), make(b)
    assert (a / NAME).read_bytes() == (b / NAME).read_bytes()


def test_wrong_arch_tags_are_refused(tmp_path):
    proc = make(tmp_path, arch="aarch64", name=NAME)
    assert proc.returncode == 1 and "do not match the volume's arch aarch64" in proc.stderr


def test_package_other_than_the_distro_key_is_refused(tmp_path):
    # upstream's alpine wheel: package `alpine`, which the agent's get_krunner_info never reads
    proc = make(tmp_path, package="alpine")
    assert (
        proc.returncode == 1
        and "must be the distro key with '-' as '_' ('static_gnu')" in proc.stderr
    )
    assert "Traceback" not in proc.stderr


def test_misnamed_output_is_refused(tmp_path):
    proc = make(tmp_path, name="krunner.whl")
    assert proc.returncode == 1 and "should be named" in proc.stderr


def test_bom_dir_goes_to_licenses_and_sboms(tmp_path):
    bom = tmp_path / "bom"
    (bom / "licenses/runtime").mkdir(parents=True)
    (bom / "licenses/runtime/CPython.txt").write_text("PSF\n")
    (bom / "sbom.cdx.json").write_text("{}\n")
    vol = tmp_path / "vol.tar.xz"
    vol.write_bytes(b"volume bytes")
    cmd = [
        sys.executable,
        TOOL,
        "--out",
        str(tmp_path / NAME),
        "--distribution",
        "backend.ai-krunner-static-gnu",
        "--version",
        "9.9.9",
        "--summary",
        "test",
        "--package",
        "static_gnu",
        "--distro-key",
        "static-gnu",
        "--arch",
        "x86_64",
        "--volume",
        str(vol),
        "--plugin",
        PLUGIN,
        "--volume-version",
        "15",
        "--python-version",
        "3.13",
        "--bom-dir",
        str(bom),
    ] + [a for t in TAGS for a in ("--platform-tag", t)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    di = "backend_ai_krunner_static_gnu-9.9.9.dist-info/"
    with zipfile.ZipFile(tmp_path / NAME) as zf:
        assert zf.read(di + "licenses/runtime/CPython.txt") == b"PSF\n"
        assert zf.read(di + "sboms/sbom.cdx.json") == b"{}\n"
        assert "License-File: runtime/CPython.txt" in zf.read(di + "METADATA").decode()
    (bom / "sbom.cdx.json").unlink()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode != 0 and "not a krunner_bom directory" in proc.stderr
