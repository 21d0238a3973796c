"""The lock's rule on made-up builds, distros.bzl's editor, and tools/bump_volume's plan.

The agent extracts `backendai-krunner.v<N>.<arch>.<key>` once per host and reuses
it by name, so each way a build can leave hosts on stale bytes must be reported,
and the plan must raise exactly the numbers whose bytes changed.
"""

from __future__ import annotations

import dataclasses
import importlib.machinery
import importlib.util
import os
from pathlib import Path

import pytest
from volume_lock import distros_file, lock

RUNFILES = Path(os.environ["TEST_SRCDIR"])
A, B, C = "a" * 64, "b" * 64, "c" * 64


def bump_volume():
    """tools/bump_volume as a module (a script without .py)."""
    path = str(RUNFILES / os.environ["BUMP_VOLUME"])
    loader = importlib.machinery.SourceFileLoader("bump_volume", path)
    spec = importlib.util.spec_from_loader("bump_volume", loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def distro(volume_version=18, version="4.6.0", x86=A, arm=B, whl=(A, B)):
    return lock.Distro(
        distro_key="static-gnu",
        distribution="backend.ai-krunner-static-gnu",
        version=version,
        volume_version=volume_version,
        volumes={"x86_64": x86, "aarch64": arm},
        wheels={
            "x86_64": (f"w-{version}-x.whl", whl[0]),
            "aarch64": (f"w-{version}-a.whl", whl[1]),
        },
    )


LOCKED = {"static_gnu": distro()}


def test_same_build_has_no_problems():
    assert lock.problems(LOCKED, {"static_gnu": distro()}) == []


def test_changed_volume_under_the_same_number_names_the_volume_and_the_command():
    found = lock.problems(LOCKED, {"static_gnu": distro(x86=C, whl=(C, B))})
    assert any(
        "static_gnu x86_64: the volume's bytes changed" in f
        and "backendai-krunner.v18.x86_64.static-gnu" in f
        and f.endswith("run tools/bump_volume")
        for f in found
    ), found
    assert any("PyPI never replaces" in f for f in found), found


def test_lowered_and_skipped_numbers_are_refused():
    assert "went down from 18 to 17" in lock.problems(LOCKED, {"static_gnu": distro(17)})[0]
    assert "skips" in lock.problems(LOCKED, {"static_gnu": distro(20, x86=C)})[0]
    assert "went down from 4.6.0 to 4.5.0" in " ".join(
        lock.problems(LOCKED, {"static_gnu": distro(version="4.5.0", whl=(C, C))})
    )


def test_raised_number_without_a_change_is_reported():
    found = lock.problems(LOCKED, {"static_gnu": distro(19)})
    assert "no volume changed" in found[0], found


def test_bumped_but_unrecorded_build_asks_for_the_lock():
    found = lock.problems(LOCKED, {"static_gnu": distro(19, "4.7.0", x86=C, arm=C, whl=(C, C))})
    assert found and all("not recorded" in f for f in found), found


def test_missing_and_dropped_distros():
    assert "not in krunner/volumes.lock.json" in lock.problems({}, {"static_gnu": distro()})[0]
    assert "no longer built" in lock.problems(LOCKED, {})[0]


def test_lock_round_trip(tmp_path):
    path = tmp_path / "volumes.lock.json"
    path.write_text(lock.render(LOCKED))
    assert lock.load(path) == LOCKED
    assert lock.render(lock.load(path)) == path.read_text()
    path.write_text('{"distros": {"x": {}}}')
    with pytest.raises(lock.LockError, match="malformed entry"):
        lock.load(path)


def test_versions_are_edited_in_place():
    text = (RUNFILES / os.environ["DISTROS_BZL"]).read_text()
    before = distros_file.read(text)
    name = sorted(before)[0]
    edited = distros_file.set_versions(text, name, "9.9.0", 99)
    after = distros_file.read(edited)
    assert after[name] == dataclasses.replace(before[name], version="9.9.0", volume_version=99)
    assert {n: v for n, v in after.items() if n != name} == {
        n: v for n, v in before.items() if n != name
    }
    assert len(edited.splitlines()) == len(text.splitlines())
    assert sum(a != b for a, b in zip(edited.splitlines(), text.splitlines(), strict=True)) == 2


def test_plan_bumps_exactly_what_changed():
    plan = bump_volume().plan
    assert plan(LOCKED, {"static_gnu": distro()}, "minor") == {}
    # a volume change changes its wheel: both numbers
    assert plan(LOCKED, {"static_gnu": distro(arm=C, whl=(A, C))}, "minor") == {
        "static_gnu": ("4.7.0", 19)
    }
    # a wheel-only change (plugin.py): the package version; the next round sees the
    # volume's SBOM change and raises volume_version
    assert plan(LOCKED, {"static_gnu": distro(whl=(C, C))}, "patch") == {
        "static_gnu": ("4.6.1", 18)
    }
    assert plan(LOCKED, {"static_gnu": distro(version="4.6.1", x86=C, whl=(C, C))}, "patch") == {
        "static_gnu": ("4.6.1", 19)
    }
    # already bumped by hand to the next numbers: nothing more
    assert plan(LOCKED, {"static_gnu": distro(19, "4.7.0", x86=C, whl=(C, C))}, "minor") == {}


def test_plan_never_lowers_or_skips():
    plan = bump_volume().plan
    with pytest.raises(lock.LockError, match="never go down"):
        plan(LOCKED, {"static_gnu": distro(17, x86=C)}, "minor")
    with pytest.raises(lock.LockError, match="skips past 19"):
        plan(LOCKED, {"static_gnu": distro(21, x86=C)}, "minor")


def test_numbers_are_checked_before_any_build():
    check = bump_volume().check_numbers
    ok = distros_file.Versions("static-gnu", "backend.ai-krunner-static-gnu", "4.7.0", 19)
    check(LOCKED, {"static_gnu": ok})
    with pytest.raises(lock.LockError, match="never go down"):
        check(LOCKED, {"static_gnu": dataclasses.replace(ok, volume_version=17)})
    with pytest.raises(lock.LockError, match="never go down"):
        check(LOCKED, {"static_gnu": dataclasses.replace(ok, version="4.5.9")})
    with pytest.raises(lock.LockError, match="set it to 19"):
        check(LOCKED, {"static_gnu": dataclasses.replace(ok, volume_version=20)})
