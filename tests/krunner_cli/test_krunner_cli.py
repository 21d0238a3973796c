"""tools/krunner inspect/compare on small wheels made by the real wheel and volume writers."""

from __future__ import annotations

import io
import json
import lzma
import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
KRUNNER = RUNFILES / "tools/krunner"
WHEELMAKER = RUNFILES / "krunner/private/wheelmaker.py"
BUILD_VOLUME = RUNFILES / "krunner/private/build_volume.py"
PLUGIN = RUNFILES / "krunner/plugin/plugin.py"
X86_ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 11 + (62).to_bytes(2, "little") + b"\0" * 44
TAGS = ["manylinux2014_x86_64", "musllinux_1_1_x86_64", "macosx_11_0_x86_64"]


def write_tree(root: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(data)
    return root


def make_wheel(
    tmp: Path, version: str, files: dict[str, bytes], volume: Path | None = None
) -> Path:
    if volume is None:
        tree = write_tree(tmp / f"tree-{version}", files)
        volume = tmp / f"vol-{version}.tar.xz"
        subprocess.run(
            [
                sys.executable,
                BUILD_VOLUME,
                "--out",
                volume,
                "--arch",
                "x86_64",
                "--xz-preset",
                "0",
                "--tree",
                tree,
            ],
            check=True,
        )
    name = f"backend_ai_krunner_static_gnu-{version}-py3-none-{'.'.join(TAGS)}.whl"
    subprocess.run(
        [
            sys.executable,
            WHEELMAKER,
            "--out",
            tmp / name,
            "--distribution",
            "backend.ai-krunner-static-gnu",
            "--version",
            version,
            "--summary",
            "t",
            "--package",
            "static_gnu",
            "--distro-key",
            "static-gnu",
            "--arch",
            "x86_64",
            "--volume",
            volume,
            "--plugin",
            PLUGIN,
            "--volume-version",
            "15",
            "--python-version",
            "3.13",
        ]
        + [a for t in TAGS for a in ("--platform-tag", t)],
        check=True,
    )
    return tmp / name


def krunner(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, KRUNNER, *args], capture_output=True, text=True)


BASE = {
    "bin/ttyd": X86_ELF,
    "include/python3.13/patchlevel.h": b'#define PY_VERSION "3.13.15"\n',
    "lib/python3.13/site-packages/zmq/__init__.py": b"# zmq\n",
    "lib/python3.13/site-packages/pyzmq-27.0.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: pyzmq\nVersion: 27.0.0\nLicense-Expression: BSD-3-Clause\n",
}


def test_inspect_json_and_text(tmp_path):
    whl = make_wheel(tmp_path, "9.0.0", BASE)
    proc = krunner("inspect", "--json", str(whl))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["distribution"] == "backend.ai-krunner-static-gnu" and data["version"] == "9.0.0"
    assert data["platform_tags"] == TAGS and data["distro_keys"] == ["static-gnu"]
    assert (data["volume_version"], data["python_version"]) == (15, "3.13")
    assert data["volume"]["files"] == 4 and data["volume"]["unpacked_bytes"] == sum(
        len(v) for v in BASE.values()
    )
    comps = {c["name"]: c for c in data["components"]}
    assert comps["pyzmq"]["version"] == "27.0.0" and comps["pyzmq"]["license"] == "BSD-3-Clause"
    assert (
        comps["CPython"]["version"] == "3.13.15" and comps["ttyd"]["source"] == "ELF x86_64 static"
    )
    text = krunner("inspect", str(whl)).stdout
    assert "static-gnu" in text and "pyzmq" in text and "4 files" in text


def test_platform_tags_come_from_the_wheel_metadata_not_the_file_name(tmp_path):
    whl = make_wheel(tmp_path, "9.0.0", BASE)
    renamed = whl.rename(tmp_path / "upstream_sg_4.4.0.whl")
    proc = krunner("inspect", "--json", str(renamed))
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["platform_tags"] == TAGS


def test_compare_reports_files_packages_and_deltas(tmp_path):
    a = make_wheel(tmp_path, "9.0.0", BASE)
    changed = dict(BASE)
    del changed["lib/python3.13/site-packages/zmq/__init__.py"]
    changed["lib/python3.13/site-packages/pyzmq-27.0.0.dist-info/METADATA"] = BASE[
        "lib/python3.13/site-packages/pyzmq-27.0.0.dist-info/METADATA"
    ].replace(b"27.0.0", b"27.1.0")
    changed["lib/python3.13/site-packages/new.py"] = b"x" * 1000
    b = make_wheel(tmp_path, "9.0.1", changed)
    data = json.loads(krunner("compare", "--json", str(a), str(b)).stdout)
    assert data["added"] == ["lib/python3.13/site-packages/new.py"]
    assert data["removed"] == ["lib/python3.13/site-packages/zmq/__init__.py"]
    assert data["changed"] == ["lib/python3.13/site-packages/pyzmq-27.0.0.dist-info/METADATA"]
    assert data["packages"] == {"pyzmq": {"a": "27.0.0", "b": "27.1.0"}}
    assert data["largest_deltas"][0] == {
        "path": "lib/python3.13/site-packages/new.py",
        "delta_bytes": 1000,
    }
    assert "1 added, 1 removed, 1 changed" in krunner("compare", str(a), str(b)).stdout


def test_not_a_zip(tmp_path):
    f = tmp_path / "x.whl"
    f.write_text("hello")
    proc = krunner("inspect", str(f))
    assert proc.returncode == 2 and "not a wheel" in proc.stderr and str(f) in proc.stderr


def test_not_a_krunner_wheel(tmp_path):
    f = tmp_path / "plain-1.0-py3-none-any.whl"
    with zipfile.ZipFile(f, "w") as zf:
        zf.writestr("plain-1.0.dist-info/METADATA", "Name: plain\nVersion: 1.0\n")
        zf.writestr("plain-1.0.dist-info/WHEEL", "Tag: py3-none-any\n")
    proc = krunner("inspect", str(f))
    assert proc.returncode == 2 and "not a krunner wheel" in proc.stderr


def test_corrupt_volume(tmp_path):
    bad = tmp_path / "bad.tar.xz"
    bad.write_bytes(lzma.compress(b"not a tar archive at all, just bytes" * 20)[:50])
    whl = make_wheel(tmp_path, "9.0.0", {}, volume=bad)
    proc = krunner("inspect", str(whl))
    assert proc.returncode == 2 and "corrupt" in proc.stderr


@pytest.mark.parametrize(
    "member,kind",
    [("../escape.txt", "file"), ("/etc/passwd", "file"), ("link", "../../etc/passwd")],
)
def test_member_escaping_the_root_is_refused(tmp_path, member, kind):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo(member)
        if kind == "file":
            info.size = 1
            tar.addfile(info, io.BytesIO(b"x"))
        else:
            info.type, info.linkname = tarfile.SYMTYPE, kind
            tar.addfile(info)
    vol = tmp_path / "evil.tar.xz"
    vol.write_bytes(lzma.compress(raw.getvalue()))
    whl = make_wheel(tmp_path, "9.0.0", {}, volume=vol)
    proc = krunner("inspect", str(whl))
    assert proc.returncode == 2 and "outside the volume" in proc.stderr


# Issue 18, findings 10 and 12.


def volume_of(tmp_path: Path, members: list[tuple[str, str | bytes]]) -> Path:
    """A volume with these members in order: bytes make a file, a str a symlink, None a dir."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for name, what in members:
            info = tarfile.TarInfo(name)
            if what is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif isinstance(what, str):
                info.type, info.linkname = tarfile.SYMTYPE, what
                tar.addfile(info)
            else:
                info.size = len(what)
                tar.addfile(info, io.BytesIO(what))
    vol = tmp_path / "crafted.tar.xz"
    vol.write_bytes(lzma.compress(raw.getvalue()))
    return vol


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1, (
        proc.stderr
    )
    return proc.stderr


@pytest.mark.parametrize(
    "members,words",
    [
        ([("x", None), ("x/y", ".."), ("x/z", "y/../..")], "outside the volume root"),
        ([("x", None), ("x/y", ".."), ("x/y/f", b"through the link")], "below the link"),
        ([("a", b"EVIL1"), ("./a", b"GOOD")], "appears twice"),
    ],
)
def test_crafted_volumes_are_refused(tmp_path, members, words):
    whl = make_wheel(tmp_path, "9.0.0", {}, volume=volume_of(tmp_path, members))
    assert words in one_line_error(krunner("inspect", str(whl)))


def rewrite(
    whl: Path,
    out: Path,
    drop: tuple[str, ...] = (),
    add: dict[str, bytes] | None = None,
    big: dict[str, int] | None = None,
) -> Path:
    """A copy of `whl` without members ending in `drop`, with `add` (and `big`: that many zeros)."""
    with zipfile.ZipFile(whl) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if not info.filename.endswith(drop) and info.filename not in (add or {}):
                dst.writestr(info, src.read(info))
        for name, data in (add or {}).items():
            dst.writestr(name, data)
        for name, size in (big or {}).items():
            with dst.open(name, "w") as f:
                for _ in range(size >> 20):
                    f.write(bytes(1 << 20))
    return out


def dist_info(whl: Path) -> str:
    with zipfile.ZipFile(whl) as zf:
        return next(
            n.split("/")[0] for n in zf.namelist() if n.split("/")[0].endswith(".dist-info")
        )


@pytest.mark.parametrize(
    "case",
    [
        "no-metadata",
        "sbom-not-json",
        "sbom-a-list",
        "sbom-bad-component",
        "metadata-not-utf8",
        "no-name",
        "bad-deflate",
    ],
)
def test_malformed_wheels_get_one_line_errors(tmp_path, case):
    good = make_wheel(tmp_path, "9.0.0", BASE)
    di = dist_info(good)
    bad = tmp_path / "bad.whl"
    if case == "no-metadata":
        rewrite(good, bad, drop=("/METADATA",))
    elif case == "sbom-not-json":
        rewrite(good, bad, drop=(".spdx.json", ".cdx.json"), add={f"{di}/sbom.spdx.json": b"{"})
    elif case == "sbom-a-list":
        rewrite(good, bad, drop=(".spdx.json", ".cdx.json"), add={f"{di}/sbom.spdx.json": b"[1]"})
    elif case == "sbom-bad-component":
        rewrite(
            good,
            bad,
            drop=(".spdx.json", ".cdx.json"),
            add={f"{di}/sbom.cdx.json": json.dumps({"components": [{"name": 3}, 7]}).encode()},
        )
    elif case == "metadata-not-utf8":
        rewrite(good, bad, add={f"{di}/METADATA": b"Name: \xff\xfe\n"})
    elif case == "no-name":
        rewrite(good, bad, add={f"{di}/METADATA": b"Metadata-Version: 2.1\n"})
    elif case == "bad-deflate":
        rewrite(good, bad)
        data = bytearray(bad.read_bytes())
        with zipfile.ZipFile(bad) as zf:
            info = zf.getinfo(f"{di}/WHEEL")
        start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
        data[start : start + 8] = b"\xff" * 8  # the compressed stream itself
        bad.write_bytes(bytes(data))
    for argv in (
        ["inspect", str(bad)],
        ["inspect", "--json", str(bad)],
        ["compare", str(good), str(bad)],
    ):
        one_line_error(krunner(*argv))


def test_a_small_wheel_with_a_huge_metadata_is_refused_before_it_is_read(tmp_path):
    """A 200 MB METADATA packs to ~200 KB; reading it whole made inspect peak at GBs."""
    good = make_wheel(tmp_path, "9.0.0", BASE)
    bomb = rewrite(
        good,
        tmp_path / "bomb.whl",
        drop=("/METADATA",),
        big={f"{dist_info(good)}/METADATA": 200 << 20},
    )
    assert bomb.stat().st_size < 1 << 20
    proc = subprocess.Popen(
        [sys.executable, KRUNNER, "inspect", str(bomb)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    stderr = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)  # the child's own peak memory
    proc.returncode = os.waitstatus_to_exitcode(status)
    peak_kib = usage.ru_maxrss
    assert proc.returncode == 2 and "METADATA" in stderr and "Traceback" not in stderr, stderr
    assert int(peak_kib) < 100 << 10, f"peak {int(peak_kib) >> 10} MiB"


def test_a_zip_from_a_future_version_is_a_one_line_error(tmp_path):
    """Found by tests/fuzz: zipfile raises NotImplementedError for extract version > 6.3."""
    good = make_wheel(tmp_path, "9.0.0", BASE)
    data = bytearray(good.read_bytes())
    central = data.rfind(b"PK\x01\x02")
    data[central + 6 : central + 8] = (84).to_bytes(2, "little")  # version needed to extract: 8.4
    bad = tmp_path / "future.whl"
    bad.write_bytes(bytes(data))
    assert "not a readable zip" in one_line_error(krunner("inspect", str(bad)))
