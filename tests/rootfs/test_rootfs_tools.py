"""The test images' pins and the two tools that make them.

debs.lock.json: every root is wired into MODULE.bazel, pinned completely, and
holds what it requests and nothing it excludes (a glibc root: no libstdc++,
no libgcc_s; a distroless root: its libc and nothing else). pin_debs.resolve on a made-up index: alternatives, virtual
packages, exclusions. finish_root on a made-up tree: absolute links become
relative, modes, links, passwd.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import finish_root
import pin_debs
import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
LOCK = json.loads((RUNFILES / "tests/rootfs/debs.lock.json").read_text())
MODULE = (RUNFILES / "MODULE.bazel").read_text()
ROOTS = sorted(LOCK["roots"].items())


def test_every_root_is_a_repo_of_the_root_module():
    block = re.search(r"use_repo\(\s*test_rootfs,(.*?)\)", MODULE, re.S).group(1)
    assert set(re.findall(r'"([^"]+)"', block)) == {f"rootfs_{name}" for name in LOCK["roots"]}


@pytest.mark.parametrize("name,spec", ROOTS, ids=[n for n, _ in ROOTS])
def test_root_is_pinned_and_holds_what_it_asks_for(name, spec):
    assert name.startswith(spec["suite"] + "_") and name.endswith("_" + spec["arch"])
    names = {p["package"] for p in spec["packages"]}
    assert set(spec["request"]) <= names
    assert not names & set(spec.get("exclude", {})), "an excluded package was pinned"
    assert all(why for why in spec.get("exclude", {}).values())
    for p in spec["packages"]:
        assert re.fullmatch(r"[0-9a-f]{64}", p["sha256"]) and p["path"].startswith("pool/main/")
        assert p["arch"] in (spec["arch"], "all") and p["version"]
    if "_glibc_" in name:
        assert not names & {"libstdc++6", "libgcc-s1"}, (
            "a glibc test image has only libc and a shell"
        )
    if (
        "_distroless_" in name
    ):  # Backend.AI issue 14588: only the libc, no shell, no coreutils, no ldd
        assert names == set(spec["request"]) == {"libc6" if "_glibc_" in name else "musl"}
        assert spec["links"] == {}, "finish_root must not add a shell to a distroless root"


def test_resolve_follows_depends_alternatives_and_provides():
    index = {
        "a": {"Depends": "b (>= 1) | c, v", "Pre-Depends": "d"},
        "b": {"Depends": "gone"},
        "c": {},
        "d": {},
        "p": {"Provides": "v (= 1)"},
    }
    assert pin_debs.resolve(index, ["a"], {"gone": "not wanted"}) == ["a", "b", "d", "p"]
    assert pin_debs.resolve(index, ["a"], {"b": "not wanted"}) == ["a", "d", "p"]
    with pytest.raises(SystemExit, match="nothing in the suite provides"):
        pin_debs.resolve({"a": {"Depends": "nowhere"}}, ["a"], {})


def test_finish_root(tmp_path):
    root = tmp_path / "root"
    (root / "usr/lib").mkdir(parents=True)
    (root / "usr/lib/ld.so").write_text("")
    (root / "usr/lib/ld.so").chmod(0o744)
    (root / "lib64").mkdir()
    (root / "lib64/ld-abs").symlink_to("/usr/lib/ld.so")
    (root / "lib64/ld-repo").symlink_to(f"{root}/usr/lib/ld.so")
    assert finish_root.main([str(root), "--links", '{"bin/sh": "busybox"}']) == 0
    assert os.readlink(root / "lib64/ld-abs") == "../usr/lib/ld.so"
    assert os.readlink(root / "lib64/ld-repo") == "../usr/lib/ld.so"
    assert (root / "usr/lib/ld.so").stat().st_mode & 0o777 == 0o755
    assert os.readlink(root / "bin") == "usr/bin" and os.readlink(root / "usr/bin/sh") == "busybox"
    assert "work:x:1000:1000:work:/home/work:/bin/sh" in (root / "etc/passwd").read_text()
    assert (root / "tmp").stat().st_mode & 0o7777 == 0o1777 and (root / "home/work").is_dir()
