"""The release's wheel checks report each planted mistake, and pass a good wheel.

Small wheels are written here, one mistake each: a member missing from RECORD,
a wrong hash, a RECORD line for a file that is not there, tags that disagree with
the file name, two architectures, a pure wheel. The release directory is written
whole or not at all.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from release_tool import assemble, wheel_checks

NAME = "backend.ai-krunner-demo"
FILE = "backend_ai_krunner_demo-1.2.0-py3-none-manylinux2014_aarch64.musllinux_1_2_aarch64.whl"
INFO = "backend_ai_krunner_demo-1.2.0.dist-info"
TAGS = ["py3-none-manylinux2014_aarch64", "py3-none-musllinux_1_2_aarch64"]


def make_wheel(
    tmp_path: Path,
    filename: str = FILE,
    tags: list[str] | None = None,
    purelib: str = "false",
    drop_from_record: str | None = None,
    bad_hash_for: str | None = None,
    extra_record_line: str | None = None,
    version: str = "1.2.0",
) -> Path:
    files = {
        "ai/backend/krunner/demo/__init__.py": b"",
        "ai/backend/krunner/demo/krunner-env.demo.aarch64.tar.xz": b"volume bytes",
        f"{INFO}/METADATA": f"Metadata-Version: 2.4\nName: {NAME}\nVersion: {version}\n".encode(),
        f"{INFO}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\n"
            f"Root-Is-Purelib: {purelib}\n" + "".join(f"Tag: {t}\n" for t in (tags or TAGS))
        ).encode(),
        f"{INFO}/sboms/sbom.cdx.json": b'{"bomFormat": "CycloneDX"}',
    }
    record = []
    for name, data in files.items():
        if name == drop_from_record:
            continue
        digest = wheel_checks.record_digest(b"other" if name == bad_hash_for else data)
        record.append(f"{name},{digest},{len(data)}")
    if extra_record_line:
        record.append(extra_record_line)
    record.append(f"{INFO}/RECORD,,")
    path = tmp_path / filename
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
        zf.writestr(f"{INFO}/RECORD", "\n".join(record) + "\n")
    return path


def test_good_wheel_passes(tmp_path):
    w = make_wheel(tmp_path)
    assert wheel_checks.record_problems(w) == []
    assert wheel_checks.tag_problems(w) == []
    assert wheel_checks.arch_of(w) == "aarch64"
    assert wheel_checks.metadata(w) == (NAME, "1.2.0")


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"drop_from_record": "ai/backend/krunner/demo/__init__.py"}, "is not in RECORD"),
        ({"bad_hash_for": f"{INFO}/METADATA"}, "does not match its RECORD line"),
        ({"extra_record_line": "ai/gone.py,sha256=x,1"}, "which is not in the wheel"),
    ],
)
def test_record_mistakes_are_found(tmp_path, kwargs, expected):
    found = wheel_checks.record_problems(make_wheel(tmp_path, **kwargs))
    assert any(expected in f for f in found), found


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"tags": TAGS[:1]}, "are not the file name's"),
        ({"purelib": "true"}, "Root-Is-Purelib: false"),
        ({"version": "1.2.1"}, "METADATA Version"),
        (
            {
                "filename": FILE.replace("musllinux_1_2_aarch64", "musllinux_1_2_x86_64"),
                "tags": ["py3-none-manylinux2014_aarch64", "py3-none-musllinux_1_2_x86_64"],
            },
            "do not name one architecture",
        ),
        (
            {
                "filename": "backend_ai_krunner_demo-1.2.0-py3-none-any.whl",
                "tags": ["py3-none-any"],
            },
            "not 'any'",
        ),
    ],
)
def test_tag_mistakes_are_found(tmp_path, kwargs, expected):
    found = wheel_checks.tag_problems(make_wheel(tmp_path, **kwargs))
    assert any(expected in f for f in found), found


def test_pip_installs_another_arch_with_platform(tmp_path):
    w = make_wheel(tmp_path)
    target = tmp_path / "site"
    assemble.pip_install(w, target)  # aarch64 on any exec host: --platform
    assert (
        target / "ai/backend/krunner/demo/krunner-env.demo.aarch64.tar.xz"
    ).read_bytes() == b"volume bytes"
    (target / "ai/backend/krunner/demo/__init__.py").write_text("changed")
    assert "with other bytes" in wheel_checks.installed_problems(w, target)[0]


def test_check_wheels_stops_at_the_first_problem(tmp_path):
    with pytest.raises(assemble.ReleaseError, match="is not in RECORD"):
        assemble.check_wheels([make_wheel(tmp_path, drop_from_record=f"{INFO}/WHEEL")])


def test_release_directory_is_written_whole_or_not_at_all(tmp_path):
    w = make_wheel(tmp_path)
    out = tmp_path / "dist"
    assemble.write(out, [w], {"commit": "abc"}, {})
    assert sorted(p.name for p in out.iterdir()) == [
        "PROVENANCE.txt",
        "SHA256SUMS",
        FILE.removesuffix(".whl") + ".cdx.json",
        FILE,
    ]
    with pytest.raises(assemble.ReleaseError, match="is not empty"):
        assemble.write(out, [w], {"commit": "abc"}, {})
    missing = tmp_path / "missing.whl"
    with pytest.raises(FileNotFoundError):
        assemble.write(tmp_path / "dist2", [missing], {"commit": "abc"}, {})
    assert not (tmp_path / "dist2").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".dist2")] == []


def test_twine_check_strict_refuses_a_wheel_without_a_description(tmp_path):
    with pytest.raises(assemble.ReleaseError, match="twine check --strict failed"):
        assemble.twine_check([make_wheel(tmp_path)])
