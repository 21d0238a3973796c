"""Every pin in the lock files is complete, well-formed and wired into MODULE.bazel."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
SOURCES = json.loads((RUNFILES / "third_party/sources.lock.json").read_text())
WHEELS = json.loads((RUNFILES / "third_party/python/tool_wheels.lock.json").read_text())
SDISTS = json.loads((RUNFILES / "third_party/python/sdists.lock.json").read_text())
MODULE = (RUNFILES / "MODULE.bazel").read_text()
SHA256 = re.compile(r"^[0-9a-f]{64}$")
ARCHIVES = sorted(SOURCES["archives"].items())


def use_repo_names(extension: str) -> set[str]:
    block = re.search(rf"use_repo\(\s*{extension},(.*?)\)", MODULE, re.S).group(1)
    return set(re.findall(r'"([^"]+)"', block))


@pytest.mark.parametrize("name,entry", ARCHIVES, ids=[n for n, _ in ARCHIVES])
def test_archive_entry_is_complete(name, entry):
    assert re.fullmatch(r"[a-z][a-z0-9_]*", name)
    assert entry["urls"] and all(u.startswith("https://") for u in entry["urls"])
    assert SHA256.match(entry["sha256"])
    assert entry["version"] and entry["hash_source"]
    assert "TBD" not in json.dumps(entry)
    for label in entry.get("patches", []) + (
        [entry["build_file"]] if entry.get("build_file") else []
    ):
        assert label.startswith("//"), label
        assert (RUNFILES / label[2:].replace(":", "/")).is_file(), f"{label} does not exist"


@pytest.mark.parametrize("name,entry", ARCHIVES, ids=[n for n, _ in ARCHIVES])
def test_offline_source_is_exactly_one_kind(name, entry):
    offline = entry["offline"]
    kinds = [k for k in ("identical", "substitute", "note") if offline.get(k)]
    assert len(kinds) == 1, f"{name}: offline must be identical, substitute or note, not {kinds}"
    if offline.get("identical"):
        assert offline["debian_path"].startswith("pool/")
        assert "re-verified offline" in entry["hash_source"]
    if offline.get("substitute"):
        sub = offline["substitute"]
        assert sub["debian_path"].startswith("pool/")
        assert SHA256.match(sub["sha256"]) and SHA256.match(sub["tree_sha256"])
        assert sub["sha256"] != entry["sha256"], "a substitute with upstream bytes is 'identical'"
        assert sub["strip_prefix"] and sub["differs"]


def test_every_archive_is_a_repo_of_the_root_module():
    assert use_repo_names("sources") == set(SOURCES["archives"])


@pytest.mark.parametrize("wheel", WHEELS["wheels"], ids=[w["project"] for w in WHEELS["wheels"]])
def test_tool_wheel_is_pinned_and_pure(wheel):
    assert SHA256.match(wheel["sha256"])
    if wheel.get("platform"):  # a prebuilt tool binary: says for which host, and why
        arch = wheel["platform"].removeprefix("linux_")
        # a tool binary (py3-none) or a stable-ABI extension (abi3), for a manylinux host
        # (manylinux2014 is PEP 600's manylinux_2_17, under its older name)
        assert re.search(
            rf"-(py3-none|cp3\d+-abi3)-(manylinux2014_{arch}\.)?manylinux_2_\d+_{arch}"
            rf"(\.manylinux(_2_\d+|2014)_{arch})*\.whl$",
            wheel["filename"],
        ), wheel["filename"]
        assert wheel.get("why"), "a binary tool wheel says why no pure-Python one will do"
    elif wheel.get(
        "target_arch"
    ):  # test data for one volume architecture (backend.ai-kernel-binary)
        assert re.search(rf"-py3-none-manylinux2014_{wheel['target_arch']}\.", wheel["filename"]), (
            wheel["filename"]
        )
        assert wheel.get("why"), "a target-architecture wheel says why"
    else:
        # py2.py3 is pure Python too (sortedcontainers is tagged so)
        assert re.search(r"-(py3|py2\.py3)-none-any\.whl$", wheel["filename"]), (
            "tool wheels must be pure Python"
        )
    assert f"-{wheel['version']}-" in wheel["filename"]
    assert wheel["hash_source"]
    known = {w["project"] for w in WHEELS["wheels"]}
    assert set(wheel.get("deps", [])) <= known


def test_every_tool_wheel_is_a_repo_of_the_root_module():
    names = [
        "pypi_" + w.get("repo", re.sub(r"[-.]", "_", w["project"].lower()))
        for w in WHEELS["wheels"]
    ]
    assert len(names) == len(set(names)), "two entries of one project need distinct `repo` names"
    assert use_repo_names("tool_wheels") == set(names)


NPM = json.loads((RUNFILES / "third_party/npm/npm_packages.lock.json").read_text())


@pytest.mark.parametrize("entry", NPM["packages"], ids=[p["repo"] for p in NPM["packages"]])
def test_npm_package_is_pinned(entry):
    assert SHA256.match(entry["sha256"])
    assert re.fullmatch(r"sha512-[A-Za-z0-9+/]{86}==", entry["integrity"])
    assert entry["hash_source"] and entry["why"]
    assert entry["binaries"] and set(entry["binaries"]) <= {"x86_64", "aarch64"}


def test_every_npm_package_is_a_repo_of_the_root_module():
    assert use_repo_names("npm_packages") == {"npm_" + p["repo"] for p in NPM["packages"]}


TEXTS = json.loads((RUNFILES / "krunner/licenses/debian_texts.lock.json").read_text())
RUNTIMES = [(n, e) for n, e in ARCHIVES if n.startswith("pbs_") or n == "cpython"]


@pytest.mark.parametrize("name,entry", RUNTIMES, ids=[n for n, _ in RUNTIMES])
def test_runtime_components_name_a_license_text(name, entry):
    """What each CPython build links in is listed, each with a known text."""
    for facts in (entry,):
        assert facts["components_source"], f"{name}: say where the component list comes from"
        for comp in facts["components"]:
            assert comp["name"] and comp["version"] and comp["license"], comp
            assert comp["text"] in TEXTS["texts"], (
                f"{name}: {comp['name']} names unknown text {comp['text']!r}"
            )


@pytest.mark.parametrize("name,entry", ARCHIVES, ids=[n for n, _ in ARCHIVES])
def test_archive_declares_its_license(name, entry):
    assert re.fullmatch(r"[A-Za-z0-9.+\- ()]+", entry["license"]), (
        f"{name}: SPDX expression expected"
    )


@pytest.mark.parametrize(
    "key,entry", sorted(TEXTS["texts"].items()) + [("common_licenses", TEXTS["common_licenses"])]
)
def test_license_text_package_is_pinned(key, entry):
    assert SHA256.match(entry["sha256"]) and entry["path"].startswith("pool/main/")
    assert (
        entry["path"].endswith(".deb") and f"_{entry['version'].split(':')[-1]}_" in entry["path"]
    )


@pytest.mark.parametrize("sdist", SDISTS["sdists"], ids=[s["project"] for s in SDISTS["sdists"]])
def test_sdist_is_pinned_and_names_what_it_links(sdist):
    assert SHA256.match(sdist["sha256"]) and sdist["hash_source"]
    assert sdist["filename"] == f"{sdist['project']}-{sdist['version']}.tar.gz"
    assert sdist["strip_prefix"] == f"{sdist['project']}-{sdist['version']}"
    assert re.fullmatch(r"[A-Za-z0-9.+\- ()]+", sdist["license"])
    assert "://" not in json.dumps(sdist), "no URLs: the index is looked up at fetch time"
    for lib in sdist.get("links", []):
        assert lib in SOURCES["archives"], (
            f"{sdist['project']} links {lib}, which the sources lock does not pin"
        )


def test_every_sdist_is_a_repo_of_the_root_module():
    assert use_repo_names("sdists") == {
        "pypi_sdist_" + s["project"].replace("-", "_") for s in SDISTS["sdists"]
    }
