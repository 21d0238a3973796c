"""make_bom on small inputs: texts and SBOM written; a component with no license text stops it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = os.environ["MAKE_BOM"]
SPDX = os.environ["SPDX_SCHEMA"]
UPSTREAM = {
    "artifact": "upstream",
    "sha256": "a" * 64,
    "upstream_sha256": "a" * 64,
    "upstream_urls": ["https://example.invalid/x.tar.gz"],
    "patches": [],
}


@pytest.fixture
def inputs(tmp_path: Path) -> dict[str, Path]:
    lock = {
        "archives": {
            "pbs": {
                "version": "3.13.9",
                "license": "Python-2.0",
                "components": [
                    {
                        "name": "openssl",
                        "version": "3.5.7",
                        "license": "Apache-2.0",
                        "text": "openssl",
                    }
                ],
            },
            "ttyd": {"version": "1.7.7", "license": "MIT"},
            "zlib_src": {"version": "1.3.1", "license": "Zlib"},
        }
    }
    (tmp_path / "sources.lock.json").write_text(json.dumps(lock))
    runtime = tmp_path / "runtime"
    (runtime / "lib/python3.13").mkdir(parents=True)
    (runtime / "lib/python3.13/LICENSE.txt").write_text("PSF\n")
    (tmp_path / "runtime.json").write_text(
        json.dumps(dict(UPSTREAM, name="pbs", python_version="3.13.9"))
    )
    (tmp_path / "LICENSE.openssl.txt").write_text("Apache\n")
    for name in ("ttyd", "zlib_src"):
        (tmp_path / f"{name}.json").write_text(json.dumps(dict(UPSTREAM, name=name)))
        (tmp_path / f"{name}.txt").write_text(f"{name} license\n")
    site = tmp_path / "site"
    di = site / "demo_pkg-1.0.dist-info"
    (di / "licenses").mkdir(parents=True)
    (di / "METADATA").write_text(
        "Metadata-Version: 2.4\nName: demo-pkg\nVersion: 1.0\n"
        "License-Expression: MIT\nLicense-File: LICENSE\n"
    )
    (di / "licenses/LICENSE").write_text("MIT text\n")
    (tmp_path / "packages.lock.json").write_text(
        json.dumps(
            {
                "wheels": [
                    {
                        "name": "demo-pkg",
                        "version": "1.0",
                        "filename": "demo_pkg-1.0-py3-none-any.whl",
                        "sha256": "b" * 64,
                    }
                ]
            }
        )
    )
    return {"root": tmp_path, "site": site, "di": di}


def run(root: Path, site: Path, out: Path, extra: list[str] = ()) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable,
        TOOL,
        "--out-dir",
        str(out),
        "--distribution",
        "demo",
        "--version",
        "1",
        "--distro-key",
        "static-gnu",
        "--arch",
        "x86_64",
        "--volume-version",
        "1",
        "--python",
        "3.13",
        "--sources-lock",
        str(root / "sources.lock.json"),
        "--runtime",
        str(root / "runtime"),
        "--runtime-provenance",
        str(root / "runtime.json"),
        "--runtime-text",
        str(root / "LICENSE.openssl.txt"),
        "--archive",
        f"ttyd={root / 'ttyd.json'}={root / 'ttyd.txt'}",
        "--archive",
        f"zlib={root / 'zlib_src.json'}={root / 'zlib_src.txt'}",
        "--packages-lock",
        str(root / "packages.lock.json"),
        "--site-packages",
        str(site),
        "--spdx-schema",
        SPDX,
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True)


def built_inputs(inputs) -> list[str]:
    """Make demo-pkg a package built here from its sdist, linking libzmq; returns make_bom's extra args."""
    root = inputs["root"]
    lock = json.loads((root / "sources.lock.json").read_text())
    lock["archives"]["libzmq"] = {
        "version": "4.3.4",
        "license": "LGPL-3.0-or-later WITH LGPL-3.0-linking-exception",
    }
    (root / "sources.lock.json").write_text(json.dumps(lock))
    (root / "libzmq.json").write_text(
        json.dumps(dict(UPSTREAM, name="libzmq", sha256="c" * 64, upstream_sha256="c" * 64))
    )
    (root / "packages.lock.json").write_text(
        json.dumps(
            {
                "wheels": [
                    {
                        "name": "demo-pkg",
                        "version": "1.0",
                        "filename": "demo_pkg-1.0-cp313-cp313-manylinux_2_17_x86_64.whl",
                        "built_from_source": {
                            "sdist": "demo_pkg-1.0.tar.gz",
                            "sdist_sha256": "d" * 64,
                            "links": ["libzmq"],
                        },
                    }
                ]
            }
        )
    )
    (inputs["di"] / "licenses/licenses/libzmq").mkdir(parents=True)
    (inputs["di"] / "licenses/licenses/libzmq/COPYING").write_text("LGPL\n")
    meta = inputs["di"] / "METADATA"
    meta.write_text(meta.read_text() + "License-File: licenses/libzmq/COPYING\n")
    return ["--linked", f"libzmq={root / 'libzmq.json'}"]


def test_writes_texts_and_sbom(inputs, tmp_path):
    out = tmp_path / "out"
    proc = run(inputs["root"], inputs["site"], out)
    assert proc.returncode == 0, proc.stderr
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [
        "licenses/runtime/CPython.txt",
        "licenses/runtime/openssl.txt",
        "licenses/ttyd/ttyd.txt",
        "licenses/ttyd/zlib.txt",
        "licenses/wheels/demo-pkg-1.0/LICENSE",
        "sbom.cdx.json",
    ]
    sbom = json.loads((out / "sbom.cdx.json").read_text())
    refs = {c["bom-ref"]: c for c in sbom["components"]}
    assert set(refs) == {
        "runtime:cpython",
        "runtime:openssl",
        "ttyd:ttyd",
        "ttyd:zlib",
        "wheel:demo-pkg",
    }
    assert refs["runtime:openssl"]["licenses"] == [{"license": {"id": "Apache-2.0"}}]
    assert (
        refs["wheel:demo-pkg"]["purl"]
        == "pkg:pypi/demo-pkg@1.0?file_name=demo_pkg-1.0-py3-none-any.whl"
    )
    deps = {d["ref"]: d["dependsOn"] for d in sbom["dependencies"]}
    assert deps["ttyd:ttyd"] == ["ttyd:zlib"] and deps["runtime:cpython"] == ["runtime:openssl"]
    again = tmp_path / "again"
    run(inputs["root"], inputs["site"], again)
    assert (again / "sbom.cdx.json").read_bytes() == (out / "sbom.cdx.json").read_bytes()


def test_wheel_without_license_text_stops_the_build(inputs, tmp_path):
    (inputs["di"] / "licenses/LICENSE").unlink()
    proc = run(inputs["root"], inputs["site"], tmp_path / "out")
    assert proc.returncode == 1
    assert "demo-pkg 1.0 ships no license file" in proc.stderr


def test_unlocked_distribution_stops_the_build(inputs, tmp_path):
    extra = inputs["site"] / "stray-2.0.dist-info"
    extra.mkdir()
    (extra / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: stray\nVersion: 2.0\nLicense: MIT\n"
    )
    proc = run(inputs["root"], inputs["site"], tmp_path / "out")
    assert proc.returncode == 1 and "installed but not locked ['stray']" in proc.stderr


def test_runtime_library_without_text_stops_the_build(inputs, tmp_path):
    lock = json.loads((inputs["root"] / "sources.lock.json").read_text())
    lock["archives"]["pbs"]["components"][0]["text"] = "nosuch"
    (inputs["root"] / "sources.lock.json").write_text(json.dumps(lock))
    proc = run(inputs["root"], inputs["site"], tmp_path / "out")
    assert (
        proc.returncode == 1
        and "openssl (linked into CPython) names license text 'nosuch'" in proc.stderr
    )


def test_empty_text_stops_the_build(inputs, tmp_path):
    (inputs["root"] / "ttyd.txt").write_text("")
    proc = run(inputs["root"], inputs["site"], tmp_path / "out")
    assert proc.returncode == 1 and "ttyd: no license text" in proc.stderr


def test_built_package_names_its_sdist_and_what_it_links(inputs, tmp_path):
    out = tmp_path / "out"
    proc = run(inputs["root"], inputs["site"], out, built_inputs(inputs))
    assert proc.returncode == 0, proc.stderr
    refs = {c["bom-ref"]: c for c in json.loads((out / "sbom.cdx.json").read_text())["components"]}
    pkg, lib = refs["wheel:demo-pkg"], refs["wheel:demo-pkg:libzmq"]
    props = {p["name"]: p["value"] for p in pkg["properties"]}
    assert pkg["hashes"] == [{"alg": "SHA-256", "content": "d" * 64}]
    assert pkg["purl"] == "pkg:pypi/demo-pkg@1.0?file_name=demo_pkg-1.0.tar.gz"
    assert (
        props["krunner:built_from_source"] == "true"
        and props["krunner:sdist"] == "demo_pkg-1.0.tar.gz"
    )
    assert lib["version"] == "4.3.4" and lib["hashes"] == [{"alg": "SHA-256", "content": "c" * 64}]
    assert lib["licenses"] == [{"expression": "LGPL-3.0-or-later WITH LGPL-3.0-linking-exception"}]
    lprops = {p["name"]: p["value"] for p in lib["properties"]}
    assert lprops["krunner:linked_into"] == "demo-pkg"
    assert lprops["krunner:license_file"] == "licenses/wheels/demo-pkg-1.0/licenses/libzmq/"
    assert (out / "licenses/wheels/demo-pkg-1.0/licenses/libzmq/COPYING").is_file()


def test_built_package_without_its_library_stops_the_build(inputs, tmp_path):
    built_inputs(inputs)
    proc = run(inputs["root"], inputs["site"], tmp_path / "out")
    assert proc.returncode == 1 and "no --linked libzmq" in proc.stderr
