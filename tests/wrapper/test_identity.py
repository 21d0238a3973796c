"""The sid root has an identity (its package manifest) that every action's key carries."""

from __future__ import annotations

from pathlib import Path

from bazel_wrapper import ca_trust, manifest, sid_root
from bazel_wrapper import main as wrapper

STATUS = (
    "Package: bazel-bootstrap\nStatus: install ok installed\nVersion: 7.7.1+ds-8+b1\nArchitecture: amd64\n\n"
    "Package: openjdk-25-jre-headless\nStatus: install ok installed\nVersion: {jdk}\nArchitecture: amd64\n\n"
    "Package: removed\nStatus: deinstall ok config-files\nVersion: 1\nArchitecture: amd64\n"
)


def fake_root(path: Path, jdk: str = "25.0.5.0.3+1-1") -> Path:
    (path / "var/lib/dpkg").mkdir(parents=True)
    (path / "var/lib/dpkg/status").write_text(STATUS.format(jdk=jdk))
    (path / "usr/share/bazel").mkdir(parents=True)
    (path / "usr/share/bazel/build-label.txt").write_text("7.7.1\n")
    return path


def test_manifest_lists_installed_packages_with_version_and_arch(tmp_path):
    root = fake_root(tmp_path / "r")
    digest = manifest.record(root)
    assert (root / manifest.MANIFEST).read_text() == (
        "bazel-bootstrap\t7.7.1+ds-8+b1\tamd64\nopenjdk-25-jre-headless\t25.0.5.0.3+1-1\tamd64\n"
    )
    assert manifest.digest(root) == (digest, 2)


def test_roots_with_different_jdks_under_one_spec_have_different_identities(tmp_path):
    a = manifest.record(fake_root(tmp_path / "a"))
    b = manifest.record(fake_root(tmp_path / "b", jdk="25.0.6+1-1"))
    assert a != b


def test_version_prints_the_manifest_digest(tmp_path):
    root = fake_root(tmp_path / "r")
    digest = manifest.record(root)
    banner = wrapper.debian_version_banner(root)
    assert f"Sid root manifest: sha256 {digest} (2 packages" in banner


def test_the_digest_is_in_every_action_key_of_building_commands():
    assert wrapper.root_identity_args("build", "d1g") == [
        "--action_env=KRUNNER_SID_ROOT=d1g",
        "--host_action_env=KRUNNER_SID_ROOT=d1g",
    ]
    assert wrapper.root_identity_args("test", "d1g")[0] == "--action_env=KRUNNER_SID_ROOT=d1g"
    assert wrapper.root_identity_args("query", "d1g") == []


def test_the_jdk_is_pinned_in_the_spec():
    pinned = sid_root.load_spec().pinned
    assert {"openjdk-25-jre-headless", "openjdk-25-jdk-headless"} <= set(pinned)


def test_host_cas_are_refreshed_when_the_host_set_changes(tmp_path):
    host, root = tmp_path / "host-cas", tmp_path / "root"
    (host / "corp").mkdir(parents=True)
    (host / "corp/proxy.crt").write_text("A")
    root.mkdir()
    runs = []
    ca_trust.refresh(root, lambda argv, what: runs.append(argv), source=host)
    assert ca_trust.is_current(root, host) and runs == [["update-ca-certificates", "--fresh"]]
    assert (root / "usr/local/share/ca-certificates/corp/proxy.crt").read_text() == "A"
    (host / "corp/proxy.crt").unlink()
    (host / "new.crt").write_text("B")
    assert not ca_trust.is_current(root, host)
    ca_trust.refresh(root, lambda argv, what: runs.append(argv), source=host)
    assert sorted(p.name for p in (root / "usr/local/share/ca-certificates").rglob("*.crt")) == [
        "new.crt"
    ]
    assert ca_trust.is_current(root, host) and len(runs) == 2
