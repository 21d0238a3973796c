"""Issue 18, wrapper side: secrets in argv, umask 002, sudo's home rc, URLs, cache links.

Each test reproduces one finding of the review (the number is the issue's row).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bazel_wrapper import (
    credentials,
    forward,
    manifest,
    namespace,
    remote_cache,
    sid_root,
    system_rc,
    trust,
)
from bazel_wrapper import main as wrapper
from bazel_wrapper.errors import WrapperError

OTHER_UID = 12345  # an unprivileged user that is not the caller
SECRETS = ("s3cr3t-pass-env", "pr0xy-pw", "ind3x-t0ken", "mirr0r-pw")


def private_tmp(tmp_path: Path) -> Path:
    """A directory whose ancestors pass the trust check (tmp_path's may be sticky /tmp)."""
    base = tmp_path / "private"
    base.mkdir(mode=0o755)
    os.chmod(base, 0o755)
    return base


class Exec(Exception):
    """Raised by the stand-in for os.exec*: what the wrapper would have run."""

    def __init__(self, argv, env):
        super().__init__(argv)
        self.argv, self.env = list(argv), dict(env)


@pytest.fixture
def wrapper_run(tmp_path, monkeypatch):
    """Run main.main in-process up to the exec of unshare, with a planted sid root."""
    base = private_tmp(tmp_path)
    root = base / "root"
    root.mkdir()
    monkeypatch.setattr(sid_root, "ensure_root", lambda spec, cache: root)
    monkeypatch.setattr(manifest, "digest", lambda r: ("d" * 64, 1))
    monkeypatch.setattr(namespace, "check_support", lambda: None)
    monkeypatch.setattr(system_rc, "quiet_copy", lambda r, c: None)

    def fake_exec(file, argv, env=None):
        raise Exec(argv, os.environ if env is None else env)

    monkeypatch.setattr(os, "execvp", lambda f, a: fake_exec(f, a))
    monkeypatch.setattr(os, "execvpe", fake_exec)
    for var in ("BAZEL_REAL", "KRUNNER_BAZEL", "PIP_CONFIG_FILE", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    home = base / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KRUNNER_OFFLINE", "0")
    monkeypatch.setenv("PIP_INDEX_URL", "https://index.invalid/simple")
    monkeypatch.setenv("KRUNNER_DEBIAN_MIRROR", "http://debian.invalid/debian")

    def run(cache: Path, *argv: str, **env: str):
        monkeypatch.setenv("KRUNNER_CACHE", str(cache))
        for k, v in env.items():
            monkeypatch.setenv(k, v)
        try:
            code = wrapper.main(list(argv))
        except Exec as done:
            return done
        return code

    return run, base


def test_1_7_no_secret_reaches_a_command_line(wrapper_run, capsys):
    """Finding 1 (KRUNNER_PASS_ENV, a proxy password) and 7 (a mirror's password)."""
    run, base = wrapper_run
    done = run(
        base / "cache",
        "build",
        "//x",
        KRUNNER_PASS_ENV="MY_TOKEN",
        MY_TOKEN="s3cr3t-pass-env",
        https_proxy="http://me:pr0xy-pw@proxy.invalid:3128",
        PIP_INDEX_URL="https://ci:ind3x-t0ken@index.invalid/simple",
        KRUNNER_DEBIAN_MIRROR="http://deb:mirr0r-pw@debian.invalid/debian",
    )
    assert isinstance(done, Exec), capsys.readouterr().err
    leaked = [a for a in done.argv if any(s in a for s in SECRETS)]
    assert not leaked, f"secrets on the command line (readable in /proc/<pid>/cmdline): {leaked}"
    # They still reach Bazel, through the environment and the credentials file.
    assert done.env["MY_TOKEN"] == "s3cr3t-pass-env"
    assert done.env["https_proxy"] == "http://me:pr0xy-pw@proxy.invalid:3128"
    assert "--repo_env=KRUNNER_DEBIAN_MIRROR=http://debian.invalid/debian" in done.argv
    stored = json.loads(Path(done.env["KRUNNER_CREDENTIALS_FILE"]).read_text())
    assert {(c["host"], c["password"]) for c in stored} == {
        ("index.invalid", "ind3x-t0ken"),
        ("debian.invalid", "mirr0r-pw"),
    }
    assert not any(s in capsys.readouterr().err for s in SECRETS)


def test_1_the_enter_script_keeps_named_values_from_its_environment():
    """The script's last step keeps exactly the named variables, values from the environment."""
    probe = "import json, os; print(json.dumps(dict(os.environ)))"
    proc = subprocess.run(
        [
            "bash",
            "-c",
            'keep="$1"; shift;' + namespace._EXEC_TAIL,
            "t",
            "MY_TOKEN CI",
            sys.executable,
            "-c",
            probe,
        ],
        env={"MY_TOKEN": "s3cr3t-pass-env", "CI": "true", "OTHER": "x", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert json.loads(proc.stdout) == {
        "MY_TOKEN": "s3cr3t-pass-env",
        "CI": "true",
        "HOME": "/root",
        "LANG": "C.UTF-8",
        "USER": "root",
        "PATH": namespace.ROOT_PATH,
    }


def test_3_umask_002_first_and_second_call_pass_the_trust_checks(wrapper_run, capsys):
    """Finding 3: a fresh cache under umask 002 (Debian's default for users)."""
    run, base = wrapper_run
    old = os.umask(0o002)
    try:
        for call in ("first", "second"):
            done = run(base / "fresh/cache", "build", "//x")
            assert isinstance(done, Exec), f"{call} call: {capsys.readouterr().err}"
    finally:
        os.umask(old)
    for path in (base / "fresh", base / "fresh/cache", base / "fresh/cache/output"):
        assert os.stat(path).st_mode & 0o777 == 0o755, path


def write_rc(home: Path, text: str) -> Path:
    home.mkdir(parents=True, exist_ok=True)
    rc = home / ".bazelrc"
    rc.write_text(text)
    return rc


def test_2_a_home_rc_someone_else_owns_is_not_mounted(tmp_path, capsys):
    """Finding 2: under `sudo -E`, HOME is the invoking user's and so is its rc."""
    base = private_tmp(tmp_path)
    home, ws = base / "alice", base / "ws"
    ws.mkdir()
    agent = base / "agent.jar"
    agent.write_text("")
    rc = write_rc(home, f"startup --host_jvm_args=-javaagent:{agent}\n")
    os.lchown(rc, OTHER_UID, OTHER_UID)
    binds = forward.binds(["build", "//x"], [], ws, ws, {"HOME": str(home)}, covered=[ws])
    assert not [b for b in binds if b.target == forward.HOME_RC_INSIDE], binds
    assert not [b for b in binds if b.source == agent]
    err = capsys.readouterr().err
    assert "not reading" in err and "sudo -H" in err and "\n" not in err.strip()


def test_2_a_group_writable_home_rc_is_not_mounted_but_a_private_one_is(tmp_path, capsys):
    base = private_tmp(tmp_path)
    home, ws = base / "me", base / "ws"
    ws.mkdir()
    rc = write_rc(home, "build --jobs=2\n")
    os.chmod(rc, 0o664)
    binds = forward.binds(["build"], [], ws, ws, {"HOME": str(home)}, covered=[ws])
    assert not [b for b in binds if b.target == forward.HOME_RC_INSIDE]
    os.chmod(rc, 0o644)
    binds = forward.binds(["build"], [], ws, ws, {"HOME": str(home)}, covered=[ws])
    assert forward.Bind(rc, forward.HOME_RC_INSIDE, True) in binds


@pytest.mark.parametrize(
    "url",
    [
        "ftp://u:SECRET-1@cache.invalid/x",  # refused scheme
        "https://ci:SECRET-1/with-slash@cache.invalid/x",  # a raw `/` in the token
        "grpc://ci:SECRET-1@cache.invalid:abc",  # and a bad port
    ],
)
def test_6_remote_cache_urls_are_refused_without_echoing_them(url):
    """Finding 6: no secret in the error, none on Bazel's command line."""
    with pytest.raises(WrapperError) as err:
        remote_cache.args("build", {"KRUNNER_REMOTE_CACHE": url})
    assert "SECRET-1" not in str(err.value) and "KRUNNER_REMOTE_CACHE" in str(err.value)


def test_6_remote_cache_port_must_be_a_number():
    with pytest.raises(WrapperError, match="port"):
        remote_cache.args("build", {"KRUNNER_REMOTE_CACHE": "grpc://cache.invalid:abc"})
    assert remote_cache.args("build", {"KRUNNER_REMOTE_CACHE": "grpc://127.0.0.1:8980"}) == [
        "--remote_cache=grpc://127.0.0.1:8980"
    ]


@pytest.mark.parametrize(
    "url,problem",
    [
        ("https://ci:tok/en-SECRET-2@index.invalid/simple", "%2F"),
        ("https://ci:SECRET-2@index.invalid:abc/simple", "port"),
    ],
)
def test_6_index_urls_that_cannot_be_split_are_refused_without_the_secret(tmp_path, url, problem):
    child: dict[str, str] = {}
    try:
        args = credentials.index_args(url, private_tmp(tmp_path), child)
    except WrapperError as err:
        assert problem in str(err) and "SECRET-2" not in str(err)
        return
    except ValueError as err:  # the old code's traceback
        pytest.fail(f"traceback instead of a message: {err!r}")
    pytest.fail(f"accepted; Bazel would get {args}")


@pytest.mark.parametrize(
    "host,scoped",
    [
        ("index.corp.example", True),
        ("localhost", False),
        ("devpi", False),
        ("[::1]", False),
        ("127.0.0.1", False),
    ],
)
def test_8_credential_helper_scope_is_one_bazel_accepts(tmp_path, host, scoped):
    """Finding 8: Bazel refuses a scope without a dot or an IP address; go unscoped there."""
    child: dict[str, str] = {}
    args = credentials.index_args(f"http://u:pw@{host}:3141/simple", private_tmp(tmp_path), child)
    helper = [a for a in args if a.startswith("--credential_helper=")]
    assert helper == [
        f"--credential_helper={host}={credentials.HELPER}"
        if scoped
        else f"--credential_helper={credentials.HELPER}"
    ]
    # The helper itself still answers that host only.
    from bazel_wrapper import credential_helper

    stored = json.loads(Path(child[credentials.ENV_VAR]).read_text())
    assert credential_helper.headers_for(f"http://{host}:3141/simple/x/", stored)
    assert credential_helper.headers_for("https://elsewhere.example/simple/x/", stored) == {}


def test_9_a_cache_symlink_owned_by_another_user_is_refused(tmp_path, monkeypatch):
    """Finding 9: the link was resolved before the check, so its owner was never seen."""
    base = private_tmp(tmp_path)
    (base / "real").mkdir(mode=0o755)
    link = base / "cache-link"
    link.symlink_to(base / "real")
    os.lchown(link, OTHER_UID, OTHER_UID)
    monkeypatch.setenv("KRUNNER_CACHE", str(link))
    with pytest.raises(WrapperError, match="symlink owned by"):
        trust.private_dir(sid_root.cache_dir(), "cache directory")


def test_9_a_cache_symlink_of_the_caller_is_judged_by_its_target(tmp_path, monkeypatch):
    base = private_tmp(tmp_path)
    (base / "real").mkdir(mode=0o755)
    link = base / "cache-link"
    link.symlink_to("real")
    monkeypatch.setenv("KRUNNER_CACHE", str(link))
    trust.private_dir(sid_root.cache_dir(), "cache directory")
    trust.check_path(link, "cache directory")  # not "it is writable (mode 0777)"
    os.chmod(base / "real", 0o777)
    with pytest.raises(WrapperError, match="writable"):
        trust.private_dir(sid_root.cache_dir(), "cache directory")
