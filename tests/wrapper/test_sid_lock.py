"""The sid root's lock: the committed pins, the lock tool's resolution, hostile entries."""

from __future__ import annotations

import json
from pathlib import Path

import debs
import pytest
from bazel_wrapper import debfile, lock_sid_root, sid_lock, sid_root
from bazel_wrapper.errors import WrapperError


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_the_committed_lock_pins_the_spec(arch):
    spec, lock = sid_root.load_spec(), sid_lock.load()
    assert lock.spec_key == spec.key(), "sid_root.json changed: run tools/lock_sid_root"
    by_name = {d.package: d for d in lock.debs(arch)}
    for name, version in spec.pinned.items():
        assert by_name[name].version == version
    assert set(spec.unpinned) <= set(by_name)
    assert {"apt", "dpkg", "libc6", "bash"} <= set(by_name)  # the Essential set and apt
    assert {d.architecture for d in lock.debs(arch)} <= {arch, "all"}
    assert len({d.basename for d in lock.debs(arch)}) == len(by_name)


def test_the_lock_renders_sorted_and_loads_back(tmp_path, monkeypatch):
    made = debs.make_set(tmp_path)
    lock = sid_lock.load(made["lock"])
    arch = sid_lock.host_arch()
    arches = {
        arch: {"debs": list(reversed(lock.debs(arch))), "date": "Fri, 30 Oct 2026 08:08:01 UTC"}
    }
    text = lock_sid_root.render(lock.spec_key, "sid", arches)
    assert text == lock_sid_root.render(lock.spec_key, "sid", arches)
    path = tmp_path / "again.json"
    path.write_text(text)
    again = sid_lock.load(path)
    assert again.debs(arch) == tuple(sorted(lock.debs(arch), key=lambda d: d.package))
    assert again.root_key(arch) == lock.root_key(arch)


def test_resolve_pins_what_the_resolved_root_installed(tmp_path, monkeypatch):
    status = (
        "Package: libc6\nStatus: install ok installed\nVersion: 2.42-1\nArchitecture: amd64\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n"
    )
    packages = (
        "Package: libc6\nVersion: 2.42-1\nArchitecture: amd64\n"
        f"Filename: pool/main/g/glibc/libc6_2.42-1_amd64.deb\nSize: 3\nSHA256: {'a' * 64}\n\n"
        "Package: libc6\nVersion: 2.41-9\nArchitecture: amd64\n"
        f"Filename: pool/main/g/glibc/libc6_2.41-9_amd64.deb\nSize: 4\nSHA256: {'b' * 64}\n"
    )
    inrelease = "-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: Debian\nDate: Fri, 30 Oct 2026 08:08:01 UTC\n"
    tar = debs.tar_bytes(
        {
            "./var/lib/dpkg/status": status.encode(),
            "./var/lib/apt/lists/m_dists_sid_main_binary-amd64_Packages": packages.encode(),
            "./var/lib/apt/lists/m_dists_sid_InRelease": inrelease.encode(),
        },
        mode="w",
    )
    runs = []

    def fake_run(cmd, keep_fds=()):
        runs.append(cmd)
        Path(cmd[-2]).write_bytes(tar)
        return type("P", (), {"returncode": 0, "stdout": ""})()

    monkeypatch.setattr(lock_sid_root.tied, "run", fake_run)
    monkeypatch.setattr(lock_sid_root.shutil, "which", lambda name: "/usr/bin/" + name)
    monkeypatch.setenv("KRUNNER_DEBIAN_MIRROR", "http://127.0.0.1:9/debian")
    spec = sid_root.RootSpec("sid", "apt", {"libc6": "2.42-1"}, ())
    found, date = lock_sid_root.resolve(spec, "amd64", tmp_path, max_age_days=0)
    assert found == [
        sid_lock.Deb(
            "libc6", "2.42-1", "amd64", "pool/main/g/glibc/libc6_2.42-1_amd64.deb", 3, "a" * 64
        )
    ]
    assert date == "Fri, 30 Oct 2026 08:08:01 UTC"
    assert "--architectures=amd64" in runs[0] and "--skip=cleanup/apt/lists" in runs[0]


@pytest.mark.parametrize(
    "breakage",
    [
        lambda d: d.update(filename="pool/../../../etc/shadow.deb"),
        lambda d: d.update(filename="/etc/passwd"),
        lambda d: d.update(sha256="abc"),
        lambda d: d.pop("size"),
        lambda d: d.update(size="12"),
    ],
)
def test_a_malformed_or_hostile_lock_entry_is_one_line_error(tmp_path, breakage):
    made = debs.make_set(tmp_path)
    data = json.loads(made["lock"].read_text())
    breakage(next(iter(data["architectures"].values()))[0])
    made["lock"].write_text(json.dumps(data))
    with pytest.raises(WrapperError, match="is malformed .*tools/lock_sid_root") as err:
        sid_lock.load(made["lock"])
    assert "\n" not in str(err.value)


def test_a_lock_without_this_architecture_says_how_to_make_one(tmp_path):
    lock = sid_lock.SidLock("k", {"riscv64": ()})
    with pytest.raises(WrapperError, match="no sid root for this machine's architecture .* --arch"):
        lock.debs(sid_lock.host_arch())


def test_a_file_that_is_not_a_deb_is_named(tmp_path):
    bad = tmp_path / "x.deb"
    bad.write_bytes(b"<html>not found</html>")
    with pytest.raises(debfile.DebError, match="x.deb is not a .deb"):
        debfile.control_text(bad)


def test_a_deb_holding_another_package_than_its_pin_is_refused(tmp_path):
    made = debs.make_set(tmp_path)
    lock = sid_lock.load(made["lock"])
    pinned = lock.debs(sid_lock.host_arch())
    files = [made["mirror"] / d.filename for d in pinned]
    files[0].write_bytes(debs.make_deb("evil", "1", sid_lock.host_arch()))
    with pytest.raises(WrapperError, match=r"holds evil 1 .*not the bazel-bootstrap"):
        sid_lock.write_repo(tmp_path / "repo", pinned, files)
