"""Run a command inside the sid root, with host paths bound at the same paths.

A private mount namespace (plus a user namespace when not root) gets the root
bind-mounted, /dev, /proc and /sys from the host, and each path in `binds` at
its own path; then `pivot_root` makes the sid root `/`. pivot_root rather than
chroot matters: the Bazel client checks `/proc/<server>/cwd` against the
workspace path, and only with a pivoted root does a server started by one call
show the same path to the client of the next call, so the server is reused.
Mounts vanish with the namespace, so nothing is ever left mounted on the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from bazel_wrapper.errors import WrapperError

ROOT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The end of the enter script: only the variables named in $keep (a space-separated
# list of names, never values) survive, over a fixed base; then argv runs. The values
# come from the script's own environment, so no value is ever on a command line,
# where any local user could read it in /proc/<pid>/cmdline. bash exports PWD,
# SHLVL and _ itself; `env -u` drops them, as `env -i` did.
_EXEC_TAIL = r"""
for name in $(compgen -e); do
  case " $keep " in *" $name "*) ;; *) unset "$name" 2>/dev/null || true ;; esac
done
export PATH=%(path)s HOME=/root LANG=C.UTF-8 USER=root
exec env -u PWD -u OLDPWD -u SHLVL -u _ "$@"
""" % {"path": ROOT_PATH}

# Runs as bash in the new namespace: $1 root, $2 cwd, $3 the names of the variables
# to keep, then binds as (source, target, rw|ro) triples up to "--", then argv. A
# file is mounted on a file, a directory on a directory; read-only is best effort
# (a user namespace may refuse the remount).
_ENTER_SCRIPT = (
    r"""
set -eu
root=$1; cwd=$2; keep=$3; shift 3
binds=()
while [ "$1" != "--" ]; do binds+=("$1" "$2" "$3"); shift 3; done
shift
mount --bind "$root" "$root"
for d in dev proc sys; do mount --rbind "/$d" "$root/$d"; done
for f in /etc/resolv.conf /etc/hosts; do
  if [ -e "$f" ]; then touch "$root$f" 2>/dev/null || true; mount --bind "$f" "$root$f"; fi
done
i=0
while [ $i -lt ${#binds[@]} ]; do
  src=${binds[$i]}; dst=$root${binds[$((i+1))]}; mode=${binds[$((i+2))]}; i=$((i+3))
  if [ -d "$src" ]; then mkdir -p "$dst"; else mkdir -p "$(dirname "$dst")"; [ -e "$dst" ] || touch "$dst"; fi
  mount --bind "$src" "$dst"
  if [ "$mode" = ro ]; then
    mount -o remount,bind,ro "$dst" 2>/dev/null || mount -o remount,bind,ro,nosuid,nodev "$dst" 2>/dev/null || true
  fi
done
mkdir -p "$root/.host"
cd "$root"
pivot_root . .host
umount -l /.host
cd "$cwd"
"""
    + _EXEC_TAIL
)

# Host variables worth keeping inside; everything else is dropped for hermeticity.
PASSTHROUGH_ENV = (
    "CI",
    "TERM",
    "COLUMNS",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)


def check_support() -> None:
    """Fail early, naming what is missing, when namespaces cannot be made here."""
    for tool in ("unshare", "pivot_root"):
        if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists():
            raise WrapperError(f"`{tool}` (util-linux) is missing: install util-linux")
    if os.geteuid() == 0:
        return
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "true"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if probe.returncode != 0:
        raise WrapperError(
            "running Bazel in the sid root needs root or unprivileged user namespaces, and "
            f"neither is available here ({probe.stderr.strip() or 'unshare --user failed'}). "
            "Run as root, enable user namespaces (sysctl kernel.unprivileged_userns_clone=1 / "
            "user.max_user_namespaces), or install Bazel >= 7.7 and set BAZEL_REAL to it."
        )


def child_env(env: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment a command gets inside the root: a fixed base, the passthrough
    list, and `extra` (variables named in KRUNNER_PASS_ENV, the credentials file)."""
    out = {"PATH": ROOT_PATH, "HOME": "/root", "LANG": "C.UTF-8", "USER": "root"}
    out.update({k: env[k] for k in PASSTHROUGH_ENV if k in env})
    out.update(extra or {})
    return out


def enter_command(
    root: Path,
    cwd: Path,
    binds: list,
    argv: list[str],
    env: dict[str, str],
    extra_env: dict[str, str] | None = None,
) -> list[str]:
    """The host command line that runs `argv` in `root` with a cleared environment.

    `binds` are paths mounted writable at their own paths, or forward.Bind values
    (source, target inside, read-only or not). The command line names the
    variables the command gets, never their values: run it with
    `enter_env(env, extra_env)` as its environment (a proxy URL with a password,
    or a secret named in KRUNNER_PASS_ENV, must not be readable by other users in
    /proc/<pid>/cmdline). Run with another environment, it still gets only the
    fixed base and the named variables that environment has.
    """
    unshare = ["unshare", "--mount", "--propagation", "private"]
    if os.geteuid() != 0:
        unshare[1:1] = ["--user", "--map-root-user"]
    keep = " ".join(sorted(child_env(env, extra_env)))
    bind_args = []
    for bind in binds:
        if isinstance(bind, Path):
            bind_args += [str(bind), str(bind), "rw"]
        else:
            bind_args += [str(bind.source), str(bind.target), "ro" if bind.read_only else "rw"]
    return (
        unshare
        + ["--", "/bin/bash", "-c", _ENTER_SCRIPT, "krunner-enter", str(root), str(cwd), keep]
        + bind_args
        + ["--"]
        + argv
    )


def enter_env(env: dict[str, str], extra_env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment to run `enter_command`'s command line with: the values it keeps."""
    return child_env(env, extra_env)
