"""runtime_tree: what a CPython install keeps in a volume, seen through a sandbox's staging."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

TOOL = Path(os.environ["RUNTIME_TREE"]).resolve()
spec = importlib.util.spec_from_file_location("runtime_tree", TOOL)
runtime_tree = importlib.util.module_from_spec(spec)
spec.loader.exec_module(runtime_tree)


def install(root: Path) -> Path:
    """A small CPython-shaped install tree, with the symlinks `make install` makes."""
    files = {
        "bin/python3.13": b"\x7fELF interpreter",
        "bin/pydoc3.13": b"#!/bin/sh\n",
        "include/python3.13/patchlevel.h": b'#define PY_VERSION "3.13.15"\n',
        "lib/libpython3.13.a": b"!<arch>\n",
        "lib/python3.13/os.py": b"sep = '/'\n",
        "lib/python3.13/test/test_os.py": b"pass\n",
        "lib/python3.13/pydoc_data/topics.py": b"topics = {}\n",
        "lib/python3.13/config-3.13-x86_64-linux-musl/Makefile": b"all:\n",
        "lib/python3.13/lib-dynload/_ssl.cpython-313-x86_64-linux-musl.so": b"\x7fELF ssl",
        "lib/python3.13/lib-dynload/_testcapi.cpython-313-x86_64-linux-musl.so": b"\x7fELF test",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "bin/python3.13").chmod(0o755)
    (root / "bin/python3").symlink_to("python3.13")
    return root


def staged(real: Path, stage: Path) -> Path:
    """What a sandbox gives an action for the tree artifact `real`: absolute links per entry."""
    for dirpath, dirnames, filenames in os.walk(real):
        rel_dir = Path(dirpath).relative_to(real)
        (stage / rel_dir).mkdir(parents=True, exist_ok=True)
        for name in filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]:
            (stage / rel_dir / name).symlink_to(Path(dirpath) / name)
    return stage


def test_staged_tree_keeps_relative_symlinks_and_real_files(tmp_path):
    src = staged(install(tmp_path / "real"), tmp_path / "stage")
    dest = tmp_path / "out"
    dest.mkdir()
    runtime_tree.copy_runtime(src, dest, "3.13")
    assert os.readlink(dest / "bin/python3") == "python3.13"
    assert os.readlink(dest / "bin/python") == "python3"
    interpreter = dest / "bin/python3.13"
    assert not interpreter.is_symlink() and interpreter.read_bytes() == b"\x7fELF interpreter"
    assert interpreter.stat().st_mode & 0o777 == 0o755
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            assert not (p.is_symlink() and os.path.isabs(os.readlink(p))), p


def test_what_a_runner_never_uses_is_left_out(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    removed = runtime_tree.copy_runtime(install(tmp_path / "real"), dest, "3.13")
    kept = sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if not p.is_dir())
    assert kept == [
        "bin/python",
        "bin/python3",
        "bin/python3.13",
        "lib/python3.13/lib-dynload/_ssl.cpython-313-x86_64-linux-musl.so",
        "lib/python3.13/os.py",
    ]
    assert sum(removed.values()) == 7


def test_not_a_cpython_install_is_refused(tmp_path):
    (tmp_path / "lib/python3.12").mkdir(parents=True)
    (tmp_path / "cpython.json").write_text("{}")
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.run(
        [
            sys.executable,
            str(TOOL),
            "--tree",
            str(tmp_path),
            "--component",
            f"cpython={tmp_path / 'cpython.json'}",
            "--python",
            "3.13",
            "--compiler",
            sys.executable,
            "--out-dir",
            str(out),
            "--out-provenance",
            str(tmp_path / "p.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert "has no lib/python3.13 (found ['python3.12'])" in proc.stderr


def test_source_provenance_names_every_component(tmp_path):
    cpython = tmp_path / "cpython.json"
    cpython.write_text(json.dumps({"name": "cpython", "version": "3.13.15"}))
    ssl = tmp_path / "openssl.json"
    ssl.write_text(json.dumps({"name": "openssl", "version": "3.5.7"}))
    prov = runtime_tree.source_provenance([f"cpython={cpython}", f"openssl={ssl}"])
    assert prov["built_from_source"] is True and prov["version"] == "3.13.15"
    assert prov["components"] == {"openssl": {"name": "openssl", "version": "3.5.7"}}
