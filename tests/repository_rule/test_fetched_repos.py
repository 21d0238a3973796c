"""Repos made from the sources lock: fetched, verified, patched, provenance recorded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"])
LOCK = json.loads(
    (RUNFILES / os.environ["TEST_WORKSPACE"] / "third_party/sources.lock.json").read_text()
)


def rfile(var: str) -> Path:
    return RUNFILES / os.environ[var]


@pytest.mark.parametrize(
    "var,repo",
    [
        ("LWS_PROVENANCE", "libwebsockets"),
        ("TTYD_PROVENANCE", "ttyd"),
        ("ZLIB_PROVENANCE", "zlib_src"),
    ],
)
def test_provenance_says_which_artifact_was_used(var, repo):
    prov = json.loads(rfile(var).read_text())
    entry = LOCK["archives"][repo]
    assert prov["version"] == entry["version"] and prov["upstream_sha256"] == entry["sha256"]
    if prov["artifact"] == "upstream":
        assert prov["sha256"] == entry["sha256"]
    else:
        sub = entry["offline"]["substitute"]
        assert prov["artifact"] == "offline substitute"
        assert (prov["substitute"], prov["sha256"], prov["tree_sha256"]) == (
            sub["debian_path"],
            sub["sha256"],
            sub["tree_sha256"],
        )


def test_identical_upstream_bytes_are_never_called_a_substitute():
    prov = json.loads(rfile("LWS_PROVENANCE").read_text())
    assert prov["artifact"] == "upstream"


def test_libwebsockets_is_patched_for_pings():
    source = rfile("LWS_CONTEXT_C").read_text()
    assert "default_retry.secs_since_valid_ping = 20;" in source
    assert "default_retry.secs_since_valid_hangup = 30;" in source
    assert "= 300;" not in source


def test_expected_files_exist():
    assert 'ZLIB_VERSION "1.3.1"' in rfile("ZLIB_H").read_text()
    assert "project(ttyd VERSION 1.7.7" in rfile("TTYD_CMAKELISTS").read_text().replace("\n", " ")
