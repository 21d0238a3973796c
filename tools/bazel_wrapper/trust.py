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
        who = (
            "group and others"
            if (st.st_mode & stat.S_IWGRP and st.st_mode & stat.S_IWOTH)
            else "its group"
            if st.st_mode & stat.S_IWGRP
            else "others"
        )
        return f"it is writable by {who} (mode {stat.S_IMODE(st.st_mode):04o})"
    return None


def check_path(path: Path, what: str, uid: int | None = None, _depth: int = 0) -> None:
    """Raise WrapperError unless `path` and all its ancestors are the caller's or root's.

    `path` must exist. Each component is checked as it is (lstat): a symlink must
    itself be the caller's or root's, so a link planted by someone else is
    refused, and then what it points to is checked the same way.
    """
    uid = os.geteuid() if uid is None else uid
    path = Path(os.path.abspath(path))
    chain = [path] + list(path.parents)
    for component in chain:
        try:
            st = os.lstat(component)
        except FileNotFoundError:
            raise WrapperError(f"{what} {path}: {component} does not exist") from None
        if stat.S_ISLNK(st.st_mode):
            if st.st_uid not in (uid, 0):
                raise WrapperError(
                    _message(
                        path, component, what, f"it is a symlink owned by {_owner_name(st.st_uid)}"
                    )
                )
            # A link's own mode means nothing (always 0777); what it points to must pass.
            if _depth >= 40:
                raise WrapperError(f"{what} {path}: too many levels of symlinks at {component}")
            target = os.path.join(os.path.dirname(component), os.readlink(component))
            check_path(Path(target), what, uid, _depth + 1)
            continue
        problem = _problem(component, st, uid, component == path)
        if problem:
            raise WrapperError(_message(path, component, what, problem))


def _message(path: Path, component: Path, what: str, problem: str) -> str:
    where = str(path) if component == path else f"{path}: its ancestor {component}"
    fix = (
        f"chmod go-w {component}"
        if "writable" in problem
        else f"chown -R {os.geteuid()} {component}, if its content is yours"
    )
    return (
        f"refusing to use the {what} {where}: {problem}. Another user could have put "
        "programs there that tools/bazel would run as you. Set KRUNNER_CACHE to a directory "
        f"that only you can write (under sudo, use `sudo -H` or unset KRUNNER_CACHE and "
        f"XDG_CACHE_HOME), or fix it ({fix}) if you are sure of what it holds."
    )


def mask_group_writes() -> None:
    """Add group and other write to the process umask (002 becomes 022).

    Debian and Ubuntu give users umask 002 (each has a private group). Files
    and directories the wrapper makes would then be group-writable, and its own
    trust check would refuse them on the next call.
    """
    os.umask(os.umask(0) | 0o022)


def make_dirs(path: Path) -> None:
    """Create `path` and any missing parent, each mode 0755 whatever the umask.

    Path.mkdir(parents=True) makes parents 0777 less the umask: 0775 under 002.
    """
    path = Path(os.path.abspath(path))
    missing = []
    while not os.path.lexists(path):
        missing.append(path)
        path = path.parent
    for directory in reversed(missing):
        try:
            os.mkdir(directory, 0o755)
        except FileExistsError:
            continue  # made meanwhile by a concurrent call; checked as any other
        os.chmod(directory, 0o755)


def private_dir(path: Path, what: str) -> Path:
    """Create `path` if needed (mode 0755 at most), then check it as `check_path` does."""
    make_dirs(path)
    check_path(path, what)
    return path
