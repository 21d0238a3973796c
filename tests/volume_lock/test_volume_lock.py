"""The built volumes and wheels agree with krunner/volumes.lock.json.

A failure names the distro and arch, says what differs (bytes under an old
number, a lowered or skipped number, a build the lock does not know yet) and the
command that fixes it (tools/bump_volume).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from volume_lock import distros_file, lock

RUNFILES = Path(os.environ["TEST_SRCDIR"])
BUILT = json.loads(os.environ["BUILT"])


def test_build_agrees_with_the_lock():
    versions = {
        e["distro"]: (e["distro_key"], e["distribution"], e["version"], e["volume_version"])
        for e in BUILT
    }
    now = lock.built(
        versions,
        volumes={(e["distro"], e["arch"]): RUNFILES / e["volume"] for e in BUILT},
        wheels={(e["distro"], e["arch"]): RUNFILES / e["wheel"] for e in BUILT},
    )
    found = lock.problems(lock.load(RUNFILES / os.environ["LOCK"]), now)
    assert not found, "\n".join(found)


def test_versions_come_from_distros_bzl():
    """The versions this test was given are the ones tools/bump_volume reads and edits."""
    read = distros_file.read((RUNFILES / os.environ["DISTROS_BZL"]).read_text())
    for e in BUILT:
        v = read[e["distro"]]
        assert (v.distro_key, v.distribution, v.version, v.volume_version) == (
            e["distro_key"],
            e["distribution"],
            e["version"],
            e["volume_version"],
        )
