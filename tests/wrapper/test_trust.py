"""tools/bazel refuses a cache, root or mirror that another user could have filled."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest
from bazel_wrapper import sid_root, trust
from bazel_wrapper.errors import WrapperError

TOOLS_BAZEL = Path(os.environ["TOOLS_BAZEL"]).resolve()
OTHER_UID = 12345  # an unprivileged user that is not the caller


def chown_tree(path: Path, uid: int) -> None:
    for dirpath, dirnames, filenames in os.walk(path):
        for name in [dirpath] + [os.path.join(dirpath, n) for n in dirnames + filenames]:
            os.lchown(name, uid, uid)


def private_tmp(tmp_path: Path) -> Path:
    """A directory whose ancestors are the caller's or root's and not writable by others."""
    base = tmp_path / "private"
    base.mkdir(mode=0o755)
    for p in [base] + list(base.parents):
        st = os.lstat(p)
        if st.st_mode & 0o022 and not st.st_mode & 0o1000:
            pytest.fail(f"test setup: {p} is writable by others")
    return base


def plant_root(cache: Path) -> Path:
    """A finished-looking sid root whose /usr/bin/env records that it ran."""
    root = sid_root.root_path(cache)
    (root / "usr/bin").mkdir(parents=True)
    (root / sid_root.READY_MARKER).write_text("{}")
    env = root / "usr/bin/env"
    env.write_text(f"#!/bin/sh\ntouch {cache}/PWNED\n")
    env.chmod(0o755)
    return root


def run_wrapper(cache: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(cache.parent),
        "KRUNNER_CACHE": str(cache),
        "KRUNNER_OFFLINE": "0",
        "PIP_INDEX_URL": "https://index.invalid/simple",
        "KRUNNER_DEBIAN_MIRROR": "http://debian.invalid/debian",
        **kwargs.pop("env", {}),
    }
    return subprocess.run(
        [sys.executable, str(TOOLS_BAZEL), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        **kwargs,
    )


def test_a_root_planted_by_another_user_is_refused_before_anything_runs(tmp_path):
    # The audit's repro: an unprivileged user plants D/roots/<key>; root runs
    # `KRUNNER_CACHE=D tools/bazel shutdown`, which used to run the planted env.
    cache = private_tmp(tmp_path) / "D"
    root = plant_root(cache)
    chown_tree(cache, OTHER_UID)
    proc = run_wrapper(cache, "shutdown")
    assert proc.returncode == 2, proc.stderr
    assert "refusing to use" in proc.stderr and str(cache) in proc.stderr
    assert f"uid {OTHER_UID}" in proc.stderr and "KRUNNER_CACHE" in proc.stderr
    assert not (cache / "PWNED").exists() and root.exists()


def test_a_root_owned_by_another_user_inside_my_cache_is_refused(tmp_path):
    cache = private_tmp(tmp_path) / "c"
    root = plant_root(cache)
    chown_tree(root, OTHER_UID)
    with pytest.raises(WrapperError, match=f"refusing to use .*{root.name}.*uid {OTHER_UID}"):
        sid_root.ensure_root(sid_root.load_spec(), cache)


def test_group_writable_cache_is_refused_with_the_fix(tmp_path):
    cache = private_tmp(tmp_path) / "c"
    cache.mkdir()
    cache.chmod(0o775)
    with pytest.raises(WrapperError) as err:
        trust.check_path(cache, "cache directory")
    assert str(cache) in str(err.value) and f"chmod go-w {cache}" in str(err.value)


def test_an_ancestor_owned_by_another_user_is_named(tmp_path):
    parent = private_tmp(tmp_path) / "theirs"
    (parent / "mine").mkdir(parents=True)
    os.chown(parent, OTHER_UID, OTHER_UID)
    with pytest.raises(
        WrapperError, match=f"its ancestor {parent}: it is owned by uid {OTHER_UID}"
    ):
        trust.check_path(parent / "mine", "cache directory")


def test_sticky_shared_ancestor_is_accepted(tmp_path):
    shared = private_tmp(tmp_path) / "tmp"
    shared.mkdir()
    shared.chmod(0o1777)
    (shared / "mine").mkdir()
    trust.check_path(shared / "mine", "cache directory")
    shared.chmod(0o0777)
    with pytest.raises(WrapperError, match="writable by group and others"):
        trust.check_path(shared / "mine", "cache directory")


def test_the_offline_mirror_of_another_user_is_refused(tmp_path):
    cache = private_tmp(tmp_path) / "c"
    (cache / "mirror").mkdir(parents=True)
    os.chown(cache / "mirror", OTHER_UID, OTHER_UID)
    real = tmp_path / "bazel"
    real.write_text('#!/bin/sh\n[ "$1" = --version ] && echo "bazel 7.7.1"\n')
    real.chmod(0o755)
    proc = run_wrapper(cache, "build", "//x", env={"BAZEL_REAL": str(real), "KRUNNER_OFFLINE": "1"})
    assert proc.returncode == 2 and f"offline mirror {cache / 'mirror'}" in proc.stderr


def test_an_unprivileged_caller_trusts_itself_and_root_only(tmp_path):
    # A real process running as another uid: root's directories are trusted, its
    # own are, a third user's are not. It runs a copy of trust.py from a
    # directory it can read (the runfiles may sit under root's 0700 home).
    base = Path(tempfile.mkdtemp(dir="/tmp"))
    base.chmod(0o755)
    package = base / "bazel_wrapper"
    package.mkdir()
    for name in ("__init__.py", "errors.py", "trust.py"):
        shutil.copy(Path(trust.__file__).with_name(name), package / name)
    for name, uid in (("root_owned", 0), ("mine", OTHER_UID), ("third", OTHER_UID + 1)):
        (base / name).mkdir()
        os.chown(base / name, uid, uid)
    probe = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(base)!r})
        from pathlib import Path
        from bazel_wrapper import trust
        from bazel_wrapper.errors import WrapperError
        for name in ("root_owned", "mine", "third"):
            try:
                trust.check_path(Path({str(base)!r}) / name, "cache directory")
                print(name, "ok")
            except WrapperError:
                print(name, "refused")
        """)
    try:
        proc = subprocess.run(
            ["/usr/bin/python3", "-B", "-c", probe],
            capture_output=True,
            text=True,
            user=OTHER_UID,
            group=OTHER_UID,
            extra_groups=[],
            cwd=base,
        )
    finally:
        shutil.rmtree(base)
    assert proc.stdout.splitlines() == ["root_owned ok", "mine ok", "third refused"], proc.stderr
