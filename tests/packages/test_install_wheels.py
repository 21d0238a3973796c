"""install_wheels: installs for the target without running it, and refuses bad input."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

TOOL = os.environ["INSTALL_WHEELS"]
PLATFORM = "musllinux_1_2_x86_64"


def make_wheel(
    dir: Path,
    name: str,
    tags: str = "py3-none-any",
    files: dict[str, bytes] | None = None,
    entry_points: str = "",
) -> Path:
    files = dict(files or {f"{name}/__init__.py": b"VALUE = 1\n"})
    di = f"{name}-1.0.dist-info"
    files[f"{di}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n".encode()
    files[f"{di}/WHEEL"] = f"Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: {tags}\n".encode()
    if entry_points:
        files[f"{di}/entry_points.txt"] = entry_points.encode()
    path = dir / f"{name}-1.0-{tags}.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for n, data in files.items():
            zf.writestr(n, data)
        zf.writestr(f"{di}/RECORD", "")
    return path


def install(
    tmp_path: Path,
    wheels: list[Path],
    lock_wheels: list[dict] | None = None,
    built: list[Path] = (),
) -> subprocess.CompletedProcess:
    lock = {
        "python": "3.13",
        "platform": PLATFORM,
        "wheels": lock_wheels
        if lock_wheels is not None
        else [
            {
                "name": w.name.split("-")[0],
                "version": "1.0",
                "filename": w.name,
                "sha256": hashlib.sha256(w.read_bytes()).hexdigest(),
            }
            for w in wheels
        ],
    }
    (tmp_path / "lock.json").write_text(json.dumps(lock))
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    args = [sys.executable, TOOL, "--lock", str(tmp_path / "lock.json"), "--out-dir", str(out)]
    for w in wheels:
        args += ["--wheel", str(w)]
    for w in built:
        args += ["--built-wheel", str(w)]
    return subprocess.run(args, capture_output=True, text=True)


BUILT = {"sdist": "native-1.0.tar.gz", "sdist_sha256": "1" * 64, "links": []}


SITE = "lib/python3.13/site-packages"


def test_installs_compiles_and_records(tmp_path):
    whl = make_wheel(
        tmp_path,
        "demo",
        entry_points="[console_scripts]\ndemo-run = demo.cli:main\n",
        files={
            "demo/__init__.py": b"VALUE = 1\n",
            "demo/cli.py": b"def main():\n    return 0\n",
            "demo-1.0.data/scripts/tool": b"#!python\nprint('tool')\n",
        },
    )
    proc = install(tmp_path, [whl])
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "out"
    launcher = (out / "bin/demo-run").read_text()
    assert (
        launcher.startswith("#!/opt/backend.ai/bin/python3\n")
        and "from demo.cli import main" in launcher
    )
    assert (out / "bin/tool").read_text().startswith("#!/opt/backend.ai/bin/python3\n")
    assert os.access(out / "bin/tool", os.X_OK)
    pyc = (out / SITE / "demo/__pycache__/cli.cpython-313.pyc").read_bytes()
    assert (
        pyc[:4].hex() == "f30d0d0a" and int.from_bytes(pyc[4:8], "little") == 1
    )  # 3.13, unchecked hash
    assert (
        b"/opt/backend.ai/lib/python3.13/site-packages/demo/cli.py" in pyc
        and str(tmp_path).encode() not in pyc
    )
    di = out / SITE / "demo-1.0.dist-info"
    assert (di / "INSTALLER").read_text() == "krunner\n"
    rows = list(csv.reader(io.StringIO((di / "RECORD").read_text())))
    listed = {r[0] for r in rows}
    assert {
        "demo/cli.py",
        "demo/__pycache__/cli.cpython-313.pyc",
        "../../../bin/demo-run",
        "demo-1.0.dist-info/RECORD",
    } <= listed
    for path, digest, size in rows:
        if digest:
            data = (out / SITE / path).read_bytes()
            assert (
                digest
                == "sha256="
                + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            )
            assert int(size) == len(data)


def test_a_packages_test_suite_is_left_out(tmp_path):
    whl = make_wheel(
        tmp_path,
        "web",
        files={
            "web/__init__.py": b"",
            "web/testing.py": b"HELPER = 1\n",
            "web/test/__init__.py": b"",
            "web/test/test_web.py": b"def test(): pass\n",
            "web/sub/tests/data.json": b"{}",
            "web-1.0.data/platlib/web/test/extra.py": b"",
        },
    )
    proc = install(tmp_path, [whl])
    assert proc.returncode == 0, proc.stderr
    site = tmp_path / "out" / SITE
    kept = sorted(
        str(p.relative_to(site))
        for p in site.rglob("*")
        if p.is_file() and "dist-info" not in str(p)
    )
    assert kept == [
        "web/__init__.py",
        "web/__pycache__/__init__.cpython-313.pyc",
        "web/__pycache__/testing.cpython-313.pyc",
        "web/testing.py",
    ]
    listed = {
        r[0] for r in csv.reader(io.StringIO((site / "web-1.0.dist-info/RECORD").read_text()))
    }
    assert not any("test/" in n or "tests/" in n for n in listed)


def test_wrong_arch_wheel_is_refused_by_name(tmp_path):
    whl = make_wheel(tmp_path, "native", tags="cp313-cp313-musllinux_1_2_aarch64")
    proc = install(tmp_path, [whl])
    assert proc.returncode == 1
    assert (
        "native-1.0-cp313-cp313-musllinux_1_2_aarch64.whl" in proc.stderr
        and PLATFORM in proc.stderr
    )


def test_glibc_wheel_is_refused_for_a_musl_target(tmp_path):
    whl = make_wheel(tmp_path, "native", tags="cp313-cp313-manylinux_2_17_x86_64")
    assert install(tmp_path, [whl]).returncode == 1


def test_tampered_wheel_is_refused(tmp_path):
    whl = make_wheel(tmp_path, "demo")
    lock = [{"name": "demo", "version": "1.0", "filename": whl.name, "sha256": "0" * 64}]
    proc = install(tmp_path, [whl], lock)
    assert proc.returncode == 1 and "tampered" in proc.stderr and whl.name in proc.stderr


def test_missing_wheel_is_named(tmp_path):
    lock = [
        {
            "name": "gone",
            "version": "1.0",
            "filename": "gone-1.0-py3-none-any.whl",
            "sha256": "0" * 64,
        }
    ]
    proc = install(tmp_path, [], lock)
    assert proc.returncode == 1 and "gone-1.0-py3-none-any.whl" in proc.stderr


def test_member_escaping_the_volume_is_refused(tmp_path):
    whl = make_wheel(tmp_path, "evil", files={"../../../../etc/passwd": b"x"})
    proc = install(tmp_path, [whl])
    assert proc.returncode == 1 and "outside the volume" in proc.stderr
    assert not (tmp_path / "etc").exists()


def test_built_wheel_needs_no_sha256_but_must_be_built(tmp_path):
    whl = make_wheel(tmp_path, "native", tags="cp313-cp313-musllinux_1_2_x86_64")
    lock = [{"name": "native", "version": "1.0", "filename": whl.name, "built_from_source": BUILT}]
    proc = install(tmp_path, [], lock, built=[whl])
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / SITE / "native/__init__.py").is_file()
    # The same file given as a downloaded wheel is refused: the lock says this build makes it.
    proc = install(tmp_path, [whl], lock)
    assert proc.returncode == 1 and "built from source" in proc.stderr


def test_built_wheel_the_lock_does_not_name_is_refused(tmp_path):
    whl = make_wheel(tmp_path, "native", tags="cp313-cp313-musllinux_1_2_x86_64")
    proc = install(tmp_path, [], [], built=[whl])
    assert proc.returncode == 1 and whl.name in proc.stderr


def test_built_wheel_for_a_pinned_entry_is_refused(tmp_path):
    whl = make_wheel(tmp_path, "native", tags="cp313-cp313-musllinux_1_2_x86_64")
    lock = [
        {
            "name": "native",
            "version": "1.0",
            "filename": whl.name,
            "sha256": hashlib.sha256(whl.read_bytes()).hexdigest(),
        }
    ]
    proc = install(tmp_path, [], lock, built=[whl])
    assert proc.returncode == 1 and "built_from_source" in proc.stderr


# Issue 18, findings 4 and 11.


def test_a_console_script_name_that_leaves_bin_is_refused(tmp_path):
    whl = make_wheel(
        tmp_path, "evil", entry_points="[console_scripts]\n../../../escaped = evil:main\n"
    )
    proc = install(tmp_path, [whl])
    assert proc.returncode == 1 and "not a file name" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr
    assert not list(tmp_path.rglob("escaped"))


def test_a_console_script_target_that_is_not_a_dotted_name_is_refused(tmp_path):
    whl = make_wheel(
        tmp_path, "evil", entry_points="[console_scripts]\nrun = os; import evil; x:main\n"
    )
    proc = install(tmp_path, [whl])
    assert proc.returncode == 1 and "dotted Python names" in proc.stderr, proc.stderr
    assert not (tmp_path / "out/bin/run").exists()


def test_two_wheels_that_ship_one_path_are_refused(tmp_path):
    first = make_wheel(tmp_path, "first", files={"shared/mod.py": b"A = 1\n"})
    second = make_wheel(tmp_path, "second", files={"shared/mod.py": b"A = 2\n"})
    proc = install(tmp_path, [first, second])
    assert proc.returncode == 1, "the second wheel silently replaced the first one's file"
    assert (
        "shared/mod.py" in proc.stderr
        and "first-1.0" in proc.stderr
        and "second-1.0" in proc.stderr
    )
    assert "Traceback" not in proc.stderr


def test_two_console_scripts_of_one_name_are_refused(tmp_path):
    first = make_wheel(tmp_path, "first", entry_points="[console_scripts]\ntool = first:main\n")
    second = make_wheel(tmp_path, "second", entry_points="[console_scripts]\ntool = second:main\n")
    proc = install(tmp_path, [first, second])
    assert proc.returncode == 1 and "bin/tool" in proc.stderr, proc.stderr


def test_a_member_named_twice_in_one_wheel_is_refused(tmp_path):
    whl = make_wheel(tmp_path, "dup")
    with zipfile.ZipFile(whl, "a") as zf:
        zf.writestr("dup/__init__.py", b"VALUE = 2\n")  # zipfile warns, and writes it
    proc = install(tmp_path, [whl])
    assert proc.returncode == 1 and "already installed" in proc.stderr, proc.stderr


@pytest.mark.parametrize("member", ["bare-1.0.data", "bare-1.0.data/purelib"])
def test_a_bare_data_member_is_a_clear_error(tmp_path, member):
    whl = make_wheel(tmp_path, "bare", files={"bare/__init__.py": b"", member: b"x"})
    proc = install(tmp_path, [whl])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert ".data/<scheme>/" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("order", [("clash", "clash/sub.py"), ("clash/sub.py", "clash")])
def test_a_file_where_another_member_needs_a_directory_is_a_clear_error(tmp_path, order):
    """Found by the fuzzing test (tests/fuzz): NotADirectoryError / IsADirectoryError tracebacks."""
    whl = make_wheel(tmp_path, "clash", files={name: b"" for name in order})
    proc = install(tmp_path, [whl])
    assert proc.returncode == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert "clash" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
