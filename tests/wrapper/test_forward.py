"""Host files that Bazel options name are mounted in the sid root; env only when named."""

from __future__ import annotations

from pathlib import Path

from bazel_wrapper import forward, namespace
from bazel_wrapper.forward import Bind


def touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("")
    return path


def test_option_paths_on_the_command_line(tmp_path):
    ws, out = tmp_path / "ws", tmp_path / "out"
    ca, rc, key = (
        touch(tmp_path / "tls/ca.pem"),
        touch(tmp_path / "rc/extra.bazelrc"),
        touch(tmp_path / "tls/key"),
    )
    helper = touch(tmp_path / "helpers/cred")
    out.mkdir()
    argv = [
        f"--bazelrc={rc}",
        "build",
        f"--tls_certificate={ca}",
        "--tls_client_key",
        str(key),
        f"--credential_helper=*.corp.invalid={helper}",
        "--credential_helper=%workspace%/tools/h",
        "--credential_helper=gcloud-helper",
        f"--execution_log_json_file={out}/exec.json",
        f"--profile={out}/p.gz",
        f"--disk_cache={tmp_path}/disk",
        "//x",
        "--",
        "--profile=/nope",
    ]
    binds = forward.binds(argv, [f"--bazelrc={rc}"], ws, ws, {}, covered=[ws])
    assert binds == [
        Bind(rc, rc, True),
        Bind(ca, ca, True),
        Bind(key, key, True),
        Bind(helper, helper, True),
        Bind(out, out, False),
        Bind(tmp_path / "disk", tmp_path / "disk", False),
    ]
    assert (tmp_path / "disk").is_dir()  # created, as Bazel would, so it lands on the host


def test_home_rc_is_mounted_where_bazel_inside_looks_and_its_paths_too(tmp_path):
    home, ws = tmp_path / "home/alice", tmp_path / "ws"
    ws.mkdir(parents=True)
    (ws / ".bazelrc").write_text("try-import %workspace%/user.bazelrc\n")
    (ws / "user.bazelrc").write_text(f"build --repository_cache={tmp_path}/repo-cache  # mine\n")
    touch(home / ".bazelrc").write_text(
        f"common --disk_cache={tmp_path}/dc\n"
        f"build:ci --tls_certificate={touch(tmp_path / 'ca.pem')}\n"
    )
    binds = forward.binds(["build", "//x"], [], ws, ws, {"HOME": str(home)}, covered=[ws])
    assert binds == [
        Bind(home / ".bazelrc", Path("/root/.bazelrc"), True),
        Bind(tmp_path / "repo-cache", tmp_path / "repo-cache", False),
        Bind(tmp_path / "dc", tmp_path / "dc", False),
        Bind(tmp_path / "ca.pem", tmp_path / "ca.pem", True),
    ]
    assert forward.binds(["build"], ["--nohome_rc"], ws, ws, {"HOME": str(home)}, covered=[ws]) == [
        Bind(tmp_path / "repo-cache", tmp_path / "repo-cache", False)
    ]


def test_paths_inside_the_workspace_or_cache_need_no_mount(tmp_path):
    ws, cache = tmp_path / "ws", tmp_path / "cache"
    touch(ws / "certs/ca.pem")
    (cache / "disk").mkdir(parents=True)
    argv = [
        "build",
        "--tls_certificate=certs/ca.pem",
        f"--disk_cache={cache}/disk",
        "--execution_log_json_file=exec.json",
    ]
    assert forward.binds(argv, [], ws, ws, {}, covered=[ws, cache]) == []


def test_binds_reach_the_namespace_script_as_triples(tmp_path):
    cmd = namespace.enter_command(
        tmp_path,
        cwd=Path("/w"),
        binds=[Path("/w"), Bind(Path("/h/.bazelrc"), Path("/root/.bazelrc"), True)],
        argv=["/usr/bin/bazel", "info"],
        env={},
    )
    tail = cmd[cmd.index("krunner-enter") + 1 :]
    assert tail[:10] == [
        str(tmp_path),
        "/w",
        "HOME LANG PATH USER",
        "/w",
        "/w",
        "rw",
        "/h/.bazelrc",
        "/root/.bazelrc",
        "ro",
        "--",
    ]


def test_only_variables_named_in_krunner_pass_env_reach_bazel(tmp_path):
    host = {
        "KRUNNER_PASS_ENV": "REMOTE_TOKEN, CRED_HELPER_CFG,UNSET",
        "REMOTE_TOKEN": "t0k",
        "CRED_HELPER_CFG": "/etc/h.json",
        "OTHER_SECRET": "x",
    }
    passed = forward.passed_env(host)
    assert passed == {"REMOTE_TOKEN": "t0k", "CRED_HELPER_CFG": "/etc/h.json"}
    cmd = namespace.enter_command(
        tmp_path, cwd=Path("/w"), binds=[], argv=["bazel"], env=host, extra_env=passed
    )
    child = namespace.enter_env(host, passed)
    assert child["REMOTE_TOKEN"] == "t0k" and child["CRED_HELPER_CFG"] == "/etc/h.json"
    assert "OTHER_SECRET" not in child
    keep = cmd[cmd.index("krunner-enter") + 3].split()
    assert "REMOTE_TOKEN" in keep and "CRED_HELPER_CFG" in keep and "OTHER_SECRET" not in keep
    # Values are never on the command line (issue 18, finding 1).
    assert cmd[-1] == "bazel" and not [a for a in cmd if "t0k" in a or "/etc/h.json" in a]


def test_debians_system_rc_is_mounted_without_the_deprecated_option(tmp_path):
    from bazel_wrapper import system_rc

    root, cache = tmp_path / "roots/k", tmp_path
    rc = root / "etc/bazel/bazelrc"
    rc.parent.mkdir(parents=True)
    rc.write_text(
        "startup --install_base=/usr/share/bazel\nbuild --host_javabase=@local_jdk//:jdk\n"
        "common --override_module=platforms=/usr/share/bazel/tools/platforms\n"
    )
    copy = system_rc.quiet_copy(root, cache)
    assert copy.read_text() == (
        "startup --install_base=/usr/share/bazel\n"
        "common --override_module=platforms=/usr/share/bazel/tools/platforms\n"
    )
    assert rc.read_text().count("host_javabase") == 1  # the root itself is left as Debian made it


def test_other_mounts_get_another_bazel_server(tmp_path):
    # The server writes execution logs itself, in the namespace of the call that
    # started it: a call with other mounts must not reuse it.
    base = [Path("/w"), Path("/c")]
    with_log = base + [Bind(Path("/tmp/logs"), Path("/tmp/logs"), False)]
    assert forward.mounts_key(base) == forward.mounts_key(list(base))
    assert forward.mounts_key(base) != forward.mounts_key(with_log)
