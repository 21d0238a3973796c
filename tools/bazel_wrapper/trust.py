"""Refuse directories that someone other than the caller could have filled.

The wrapper runs programs out of its cache (the sid root's `/usr/bin/env`,
Bazel, the mirror's archives). When root runs it, a cache that an unprivileged
user can write is a way to run that user's code as root: the cache location
comes from `KRUNNER_CACHE`, `XDG_CACHE_HOME` or a HOME that `sudo -E` kept. So
every directory the wrapper trusts, and each of its ancestors, must be owned by
the caller or by root, and writable by no one else. An ancestor writable by
others is accepted only with the sticky bit (`/tmp`), where others cannot rename
or replace what the caller owns inside it.
"""

from __future__ import annotations

import os
import pwd
import stat
from pathlib import Path

from bazel_wrapper.errors import WrapperError


def _owner_name(uid: int) -> str:
    try:
        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def _problem(path: Path, st: os.stat_result, uid: int, is_target: bool) -> str | None:
    """What is wrong with one path component, or None."""
    if st.st_uid not in (uid, 0):
        return f"it is owned by {_owner_name(st.st_uid)}, not by you ({_owner_name(uid)}) or root"
    writable_by_others = st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    sticky = stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX
    if writable_by_others and (is_target or not sticky):
        who = "group and others" if (st.st_mode & stat.S_IWGRP and st.st_mode & stat.S_IWOTH) \
            else "its group" if st.st_mode & stat.S_IWGRP else "others"
        return f"it is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def check_path(path: Path, what: str, uid: int | None = None) -> None:
    """Raise WrapperError unless `path` and all its ancestors are the caller's or root's.

    `path` must exist. Symlinks in `path` are not followed: each component is
    checked as it is, so a link planted by someone else is refused too.
    """
    uid = os.geteuid() if uid is None else uid
    path = Path(os.path.abspath(path))
    chain = [path] + list(path.parents)
    for component in chain:
        try:
            st = os.lstat(component)
        except FileNotFoundError:
            raise WrapperError(f"{what} {path}: {component} does not exist") from None
        if stat.S_ISLNK(st.st_mode) and st.st_uid not in (uid, 0):
            raise WrapperError(_message(path, component, what,
                                        f"it is a symlink owned by {_owner_name(st.st_uid)}"))
        problem = _problem(component, st, uid, component == path)
        if problem:
            raise WrapperError(_message(path, component, what, problem))


def _message(path: Path, component: Path, what: str, problem: str) -> str:
    where = str(path) if component == path else f"{path}: its ancestor {component}"
    fix = (f"chmod go-w {component}" if "writable" in problem
           else f"chown -R {os.geteuid()} {component}, if its content is yours")
    return (f"refusing to use the {what} {where}: {problem}. Another user could have put "
            "programs there that tools/bazel would run as you. Set KRUNNER_CACHE to a directory "
            f"that only you can write (under sudo, use `sudo -H` or unset KRUNNER_CACHE and "
            f"XDG_CACHE_HOME), or fix it ({fix}) if you are sure of what it holds.")


def private_dir(path: Path, what: str) -> Path:
    """Create `path` if needed (mode 0755 at most), then check it as `check_path` does."""
    path.mkdir(parents=True, exist_ok=True, mode=0o755)
    check_path(path, what)
    return path
