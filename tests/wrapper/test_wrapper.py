"""tools/bazel: which Bazel it runs, what it adds, how it provisions and fails."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from bazel_wrapper import main as wrapper
from bazel_wrapper import namespace, network, sid_lock, sid_root
from bazel_wrapper.errors import WrapperError
from mirror.debian import NoDebianMirror, debian_mirror

TOOLS_BAZEL = Path(os.environ["TOOLS_BAZEL"]).resolve()


def fake_bazel(tmp_path: Path, version: str) -> Path:
    """An executable that answers --version like Bazel and otherwise prints its argv."""
    exe = tmp_path / f"bazel-{version}"
    exe.write_text(
        textwrap.dedent(f"""\
        #!/bin/sh
        if [ "$1" = "--version" ]; then echo "bazel {version}"; exit 0; fi
        for a in "$@"; do echo "ARG $a"; done
        """)
    )
    exe.chmod(0o755)
    return exe


def run_wrapper(env_extra: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("TEST_TMPDIR", "/tmp"),
        "KRUNNER_OFFLINE": "0",
        "PIP_INDEX_URL": "https://index.invalid/simple",
        "KRUNNER_DEBIAN_MIRROR": "http://debian.invalid/debian",
        **env_extra,
    }
    return subprocess.run(
        [sys.executable, str(TOOLS_BAZEL), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_split_args():
    assert wrapper.split_args(["--batch", "build", "//x", "--config=y"]) == (
        ["--batch"],
        "build",
        ["//x", "--config=y"],
    )
    assert wrapper.split_args(["--version"]) == (["--version"], None, [])


def test_bazelisk_real_bazel_is_executed_with_the_index(tmp_path):
    real = fake_bazel(tmp_path, "7.7.1")
    home = Path(os.environ["TEST_TMPDIR"])
    proc = run_wrapper(
        {"BAZEL_REAL": str(real)}, "--output_user_root=" + str(home / "out"), "build", "//krunner:x"
    )
    assert proc.returncode == 0, proc.stderr
    args = [line[4:] for line in proc.stdout.splitlines()]
    assert args == [
        "--output_user_root=" + str(home / "out"),
        "build",
        "--repo_env=KRUNNER_PYPI_INDEX=https://index.invalid/simple",
        "--repo_env=KRUNNER_DEBIAN_MIRROR=http://debian.invalid/debian",
        "//krunner:x",
    ]


def test_no_host_path_reaches_the_build(tmp_path):
    """zig's cache lives inside each action now: no cache path, no writable host path."""
    real = fake_bazel(tmp_path, "7.7.1")
    for command in ("build", "query"):
        proc = run_wrapper(
            {"BAZEL_REAL": str(real)}, "--output_user_root=" + str(tmp_path / "o"), command, "//..."
        )
        args = [line[4:] for line in proc.stdout.splitlines()]
        assert not [a for a in args if "sandbox_writable_path" in a or "ZIG" in a], args
        assert not (tmp_path / "o" / "zig-cache").exists()


def test_commands_that_do_not_fetch_pass_through_untouched(tmp_path):
    real = fake_bazel(tmp_path, "8.4.2")
    proc = run_wrapper({"BAZEL_REAL": str(real)}, "--host_jvm_args=-Xmx1g", "shutdown")
    assert [line[4:] for line in proc.stdout.splitlines()] == ["--host_jvm_args=-Xmx1g", "shutdown"]


def test_too_old_real_bazel_is_refused_by_name(tmp_path, monkeypatch):
    old = fake_bazel(tmp_path, "6.5.0")
    monkeypatch.setenv("BAZEL_REAL", str(old))
    assert wrapper.real_bazel(dict(os.environ)) is None


def test_real_bazel_version_is_parsed(tmp_path):
    assert wrapper.bazel_version(str(fake_bazel(tmp_path, "7.7.1"))) == (7, 7, 1)
    assert wrapper.bazel_version(str(tmp_path / "missing")) is None


def test_spec_key_changes_with_any_pin():
    spec = sid_root.load_spec()
    bumped = sid_root.RootSpec(
        spec.suite, spec.variant, {**spec.pinned, "bazel-bootstrap": "7.7.2"}, spec.unpinned
    )
    assert spec.key() == sid_root.load_spec().key() and spec.key() != bumped.key()
    assert "bazel-bootstrap=" + spec.pinned["bazel-bootstrap"] in spec.include().split(",")


def test_pins_are_checked_against_dpkg_status(tmp_path):
    spec = sid_root.RootSpec(
        "sid", "apt", {"bazel-bootstrap": "7.7.1+ds-8+b1", "python3": "3.14.8-1"}, ()
    )
    status = tmp_path / "var/lib/dpkg/status"
    status.parent.mkdir(parents=True)
    status.write_text(
        "Package: bazel-bootstrap\nStatus: install ok installed\nVersion: 7.7.1+ds-9\n\n"
        "Package: python3\nStatus: install ok installed\nVersion: 3.14.8-1\n"
    )
    with pytest.raises(
        WrapperError, match=r"bazel-bootstrap: pinned 7.7.1\+ds-8\+b1, got 7.7.1\+ds-9"
    ):
        sid_root._check_pins(spec, tmp_path)


def test_concurrent_first_calls_provision_once(tmp_path, monkeypatch):
    calls = []

    def slow_provision(spec, debs, root, deb_dir, lock_fd):
        calls.append(root)
        time.sleep(0.5)
        root.mkdir(parents=True)
        (root / sid_root.READY_MARKER).write_text("{}")

    monkeypatch.setattr(sid_root, "_provision", slow_provision)
    monkeypatch.setattr(sid_root.ca_trust, "is_current", lambda root: True)
    spec = sid_root.load_spec()
    roots = []
    threads = [
        threading.Thread(target=lambda: roots.append(sid_root.ensure_root(spec, tmp_path)))
        for _ in range(3)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1 and len(set(roots)) == 1


def test_failed_provisioning_leaves_no_partial_root(tmp_path, monkeypatch):
    def broken_mmdebstrap(spec, source, target, scratch, lock_fd):
        target.mkdir(parents=True)
        (target / "half").write_text("")
        raise WrapperError("dpkg went away")

    monkeypatch.setattr(sid_root, "_mmdebstrap", broken_mmdebstrap)
    spec = sid_root.load_spec()
    lock = sid_lock.SidLock(spec.key(), {sid_lock.host_arch(): ()})  # nothing to fetch
    root = sid_root.root_path(tmp_path, lock)
    with pytest.raises(WrapperError, match="dpkg went away"):
        sid_root.ensure_root(spec, tmp_path, lock)
    assert not root.exists() and not [p for p in sid_root.work_dirs(root) if p.exists()]


def test_missing_user_namespaces_say_what_is_missing(monkeypatch):
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setattr(namespace.shutil, "which", lambda tool: "/usr/bin/" + tool)
    monkeypatch.setattr(
        namespace.subprocess,
        "run",
        lambda *a, **k: subprocess.CompletedProcess(
            a, 1, "", "unshare: unshare failed: Operation not permitted"
        ),
    )
    with pytest.raises(WrapperError) as err:
        namespace.check_support()
    assert "user namespaces" in str(err.value) and "BAZEL_REAL" in str(err.value)


def test_enter_command_clears_the_environment_and_binds_paths(tmp_path):
    env = {"CI": "true", "SECRET": "x"}
    cmd = namespace.enter_command(
        tmp_path,
        cwd=Path("/w"),
        binds=[Path("/w"), Path("/c")],
        argv=["/usr/bin/bazel", "info"],
        env=env,
    )
    tail = cmd[cmd.index("krunner-enter") + 1 :]
    assert tail[:10] == [
        str(tmp_path),
        "/w",
        "CI HOME LANG PATH USER",
        "/w",
        "/w",
        "rw",
        "/c",
        "/c",
        "rw",
        "--",
    ]
    assert namespace.enter_env(env) == {
        "CI": "true",
        "PATH": namespace.ROOT_PATH,
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "USER": "root",
    }
    assert not [a for a in cmd if "SECRET" in a or a == "x"]
    assert tail[-2:] == ["/usr/bin/bazel", "info"]


def test_debian_mirror_from_deb822_and_one_line_sources(tmp_path, monkeypatch):
    monkeypatch.delenv("KRUNNER_DEBIAN_MIRROR", raising=False)
    d = tmp_path / "apt"
    (d / "sources.list.d").mkdir(parents=True)
    (d / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.invalid/debian-security\nSuites: x-security\n\n"
        "Types: deb deb-src\nURIs: http://mirror.invalid/debian/\nSuites: bookworm\n"
    )
    assert debian_mirror(d) == "http://mirror.invalid/debian"
    (d / "sources.list.d" / "debian.sources").unlink()
    (d / "sources.list").write_text(
        "deb [arch=amd64 signed-by=/k.gpg] http://other.invalid/debian sid main\n"
    )
    assert debian_mirror(d) == "http://other.invalid/debian"
    (d / "sources.list").write_text("deb http://thirdparty.invalid/apt stable main\n")
    with pytest.raises(NoDebianMirror, match="KRUNNER_DEBIAN_MIRROR"):
        debian_mirror(d)


def test_pip_index_comes_from_env_then_config(tmp_path, monkeypatch):
    assert (
        network.pip_index_url({"PIP_INDEX_URL": "https://a.invalid/simple/"})
        == "https://a.invalid/simple"
    )
    conf = tmp_path / "pip.conf"
    conf.write_text("[global]\nindex-url = https://b.invalid/simple\n")
    monkeypatch.setattr(network.Path, "home", lambda: tmp_path / "nohome")
    assert network.pip_index_url({"PIP_CONFIG_FILE": str(conf)}) == "https://b.invalid/simple"


def test_offline_is_forced_by_env_or_found_by_probe(tmp_path):
    lock = tmp_path / "lock.json"
    lock.write_text(
        json.dumps({"archives": {"a": {"urls": ["https://unreachable.invalid/a.tgz"]}}})
    )
    assert network.upstream_hosts(lock) == ["unreachable.invalid"]
    assert network.is_offline(lock, {"KRUNNER_OFFLINE": "0"}) is False
    assert network.is_offline(lock, {}) is True


def test_remote_cache_endpoint_comes_from_the_environment(tmp_path):
    real = fake_bazel(tmp_path, "7.7.1")
    env = {"BAZEL_REAL": str(real), "KRUNNER_REMOTE_CACHE": "grpc://127.0.0.1:8980"}
    build = run_wrapper(env, "--output_user_root=" + str(tmp_path / "o"), "build", "//x")
    assert "--remote_cache=grpc://127.0.0.1:8980" in [
        line[4:] for line in build.stdout.splitlines()
    ]
    query = run_wrapper(env, "--output_user_root=" + str(tmp_path / "o"), "query", "//x")
    assert not [line for line in query.stdout.splitlines() if "--remote_cache=" in line]


def test_remote_cache_with_credentials_is_refused_without_echoing_them(tmp_path):
    real = fake_bazel(tmp_path, "7.7.1")
    env = {
        "BAZEL_REAL": str(real),
        "KRUNNER_REMOTE_CACHE": "https://ci:s3cret-token@cache.invalid/krunner",
    }
    proc = run_wrapper(env, "build", "//x")
    assert proc.returncode == 2
    assert "credential helper" in proc.stderr
    assert "s3cret-token" not in proc.stdout + proc.stderr


def test_remote_cache_scheme_is_checked(tmp_path):
    proc = run_wrapper(
        {
            "BAZEL_REAL": str(fake_bazel(tmp_path, "7.7.1")),
            "KRUNNER_REMOTE_CACHE": "cache.invalid:9092",
        },
        "build",
        "//x",
    )
    assert proc.returncode == 2 and "scheme" in proc.stderr
