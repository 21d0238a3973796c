"""Each target's package lock is pinned, complete, and for its platform only."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from install_wheels import InstallError, check_tags

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
SDISTS = {
    s["project"]: s
    for s in json.loads((RUNFILES / "third_party/python/sdists.lock.json").read_text())["sdists"]
}
LOCKS = {
    p.name.split(".")[0]: json.loads(p.read_text())
    for p in sorted((RUNFILES / "krunner/packages").glob("*.lock.json"))
}
REQUIRED = {
    "async-timeout",
    "attrs",
    "janus",
    "jupyter-client",
    "msgpack",
    "pyzmq",
    "setproctitle",
    "uvloop",
}


def test_all_four_targets_are_locked():
    assert set(LOCKS) == {
        "static_gnu_x86_64",
        "static_gnu_aarch64",
        "alpine_x86_64",
        "alpine_aarch64",
    }


@pytest.mark.parametrize("target", sorted(LOCKS))
def test_lock_is_pinned_and_for_its_platform(target):
    lock = LOCKS[target]
    names = {w["name"] for w in lock["wheels"]}
    assert REQUIRED <= names
    arch = target.rsplit("_", 1)[-1]
    assert lock["platform"].endswith(arch) and lock["python"] == "3.13"
    for w in lock["wheels"]:
        built = w.get("built_from_source")
        if built:  # made by this build from the pinned sdist: the sdist's pin is what counts
            sd = SDISTS[w["name"]]
            assert "sha256" not in w
            assert (built["sdist"], built["sdist_sha256"], w["version"]) == (
                sd["filename"],
                sd["sha256"],
                sd["version"],
            )
            assert built["links"] == sd.get("links", [])
            assert w["filename"].startswith(f"{w['name']}-{w['version']}-cp313-cp313-")
        else:
            assert re.fullmatch(r"[0-9a-f]{64}", w["sha256"])
        assert w["filename"].endswith(".whl")
        assert "://" not in json.dumps(w), "no URLs in locks: the index is looked up at fetch time"
        check_tags(w["filename"], lock["platform"])


def test_check_tags_refuses_the_other_arch():
    lock = LOCKS["static_gnu_x86_64"]
    native = [w for w in lock["wheels"] if "x86_64" in w["filename"]]
    assert native
    with pytest.raises(InstallError):
        check_tags(native[0]["filename"], "manylinux_2_17_aarch64")


@pytest.mark.parametrize("target", sorted(LOCKS))
def test_pyzmq_is_built_from_source(target):
    """No volume takes pyzmq's wheels: the manylinux ones need the image's libstdc++."""
    (pyzmq,) = [w for w in LOCKS[target]["wheels"] if w["name"] == "pyzmq"]
    assert pyzmq.get("built_from_source"), f"{target}: re-run tools/lock_packages"
