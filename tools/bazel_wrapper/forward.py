"""Make the host files that Bazel options name visible inside the sid root.

Inside the root only the workspace and the cache are mounted at their own paths,
and HOME is /root. Options that name other host paths would find nothing there:
an rc file given by `--bazelrc`, TLS certificates and keys, credential helpers,
a disk or repository cache, and output files such as an execution log or a
profile. This module finds those paths, on the command line and in the rc files
Bazel will read, and says what to mount:

- files Bazel reads are mounted read-only at their own paths;
- for files Bazel writes, their parent directory is mounted writable, so the
  file lands on the host path given;
- directories Bazel keeps (caches, output bases) are mounted writable, created
  first if missing, as Bazel would;
- the caller's `~/.bazelrc` is mounted read-only at /root/.bazelrc, where Bazel
  inside looks for its home rc (unless `--nohome_rc`), but only when it passes
  the trust check (trust.py): under `sudo -E`, HOME is still the invoking
  user's, and a rc that user can write (say with `--host_jvm_args=-javaagent:`)
  must not configure root's Bazel. Such a rc is left out, with a warning.

Host variables reach Bazel only when named in KRUNNER_PASS_ENV (a comma list),
for credential helpers or remote caches that read them; never as options, so no
secret is put on Bazel's command line.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import shlex
import sys
from pathlib import Path

from bazel_wrapper import trust
from bazel_wrapper.errors import WrapperError

# Options whose value is a file Bazel reads.
INPUT_FILES = {
    "bazelrc",
    "tls_certificate",
    "tls_client_certificate",
    "tls_client_key",
    "google_credentials",
    "downloader_config",
    "credential_helper",
}
# Options whose value is a file Bazel writes.
OUTPUT_FILES = {
    "execution_log_json_file",
    "execution_log_binary_file",
    "execution_log_compact_file",
    "profile",
    "build_event_json_file",
    "build_event_binary_file",
    "build_event_text_file",
    "explain",
    "remote_grpc_log",
    "memory_profile",
    "starlark_cpu_profile",
}
# Options whose value is a directory Bazel keeps and writes.
DIRECTORIES = {"disk_cache", "repository_cache", "output_base", "output_user_root"}
# Options whose value is a directory Bazel only reads.
INPUT_DIRECTORIES = {"distdir"}
HOME_RC_INSIDE = Path("/root/.bazelrc")


@dataclasses.dataclass(frozen=True)
class Bind:
    """One host path mounted in the root: `source` on the host at `target` inside."""

    source: Path
    target: Path
    read_only: bool


def option_paths(args: list[str], workspace: Path, cwd: Path) -> list[tuple[str, str]]:
    """(option name, path) for every path-valued option among `args`."""
    known = INPUT_FILES | OUTPUT_FILES | DIRECTORIES | INPUT_DIRECTORIES
    found = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if not arg.startswith("--") or arg == "--":
            if arg == "--":
                break  # what follows is the target list or the program's arguments
            continue
        name, eq, value = arg[2:].partition("=")
        if name not in known:
            continue
        if not eq:
            if i >= len(args):
                break
            value = args[i]
            i += 1
        if name == "credential_helper":
            value = value.rsplit("=", 1)[-1]  # [scope=]path
            if "/" not in value and "%workspace%" not in value:
                continue  # a bare name is looked up on the PATH inside the root
        value = value.replace("%workspace%", str(workspace))
        if value in ("", "/dev/null") or value.startswith(("http://", "https://", "grpc")):
            continue
        found.append((name, os.path.normpath(os.path.join(cwd, value))))
    return found


def rc_files(startup: list[str], workspace: Path, home: Path | None) -> list[Path]:
    """The rc files Bazel will read that can name host paths, in Bazel's order.

    The workspace rc, the home rc (unless --nohome_rc), then each --bazelrc; an
    `import`/`try-import` is read where it stands, as Bazel reads it.
    """
    tops: list[Path] = [workspace / ".bazelrc"]
    if home is not None and "--nohome_rc" not in startup:
        tops.append(home / ".bazelrc")
    tops += [
        Path(p) for name, p in option_paths(startup, workspace, Path.cwd()) if name == "bazelrc"
    ]
    seen: list[Path] = []

    def visit(path: Path) -> None:
        if path in seen or not path.is_file():
            return
        seen.append(path)
        for words in _rc_lines(path):
            if words[0] in ("import", "try-import") and len(words) > 1:
                visit(Path(words[1].replace("%workspace%", str(workspace))))

    for top in tops:
        visit(top)
    return seen


def _rc_lines(path: Path) -> list[list[str]]:
    lines = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            words = shlex.split(line, comments=True)
        except ValueError:
            continue
        if words:
            lines.append(words)
    return lines


def trusted_home(env: dict[str, str], startup: list[str]) -> Path | None:
    """HOME, if its `.bazelrc` may configure this Bazel; else None (with a warning).

    The rc and every directory above it must be the caller's or root's and
    writable by no one else: the check every path the wrapper runs from passes.
    """
    home = Path(env["HOME"]) if env.get("HOME") else None
    if home is None or "--nohome_rc" in startup or not (home / ".bazelrc").is_file():
        return home
    try:
        trust.check_path(home / ".bazelrc", "home rc file")
    except WrapperError as err:
        print(
            f"tools/bazel: warning: not reading {home / '.bazelrc'}: {err} (Under sudo, "
            "`sudo -H` reads root's own ~/.bazelrc; or pass --nohome_rc.)",
            file=sys.stderr,
        )
        return None
    return home


def binds(
    argv: list[str],
    startup: list[str],
    workspace: Path,
    cwd: Path,
    env: dict[str, str],
    covered: list[Path],
) -> list[Bind]:
    """The mounts that make the host paths named by options and rc files visible.

    `argv` is the whole command line; `covered` are directories already mounted
    at their own paths (the workspace, the cache), whose contents need nothing.
    """
    home = trusted_home(env, startup)
    named = option_paths(argv, workspace, cwd)
    for rc in rc_files(startup, workspace, home):
        for words in _rc_lines(rc):
            if words[0] not in ("import", "try-import"):
                named += option_paths(words[1:], workspace, workspace)
    out: list[Bind] = []
    if home is not None and "--nohome_rc" not in startup and (home / ".bazelrc").is_file():
        out.append(Bind(home / ".bazelrc", HOME_RC_INSIDE, True))
    for name, value in named:
        path = Path(value)
        if name in OUTPUT_FILES:
            path, read_only = path.parent, False
        elif name in DIRECTORIES:
            path.mkdir(parents=True, exist_ok=True)
            read_only = False
        else:
            read_only = True
        if not path.exists() or any(path == c or c in path.parents for c in covered):
            continue
        bind = Bind(path, path, read_only)
        if bind not in out:
            out.append(bind)
    return out


def mounts_key(binds: list) -> str:
    """A short hash of the mounts (paths or Binds), for the server's startup options.

    The Bazel server keeps the mount namespace of the call that started it, so a
    call with other mounts must get a new server: a changed startup option does that.
    """
    canonical = "\n".join(
        f"{b}:{b}:rw"
        if isinstance(b, Path)
        else f"{b.source}:{b.target}:{'ro' if b.read_only else 'rw'}"
        for b in binds
    )
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def passed_env(env: dict[str, str]) -> dict[str, str]:
    """The host variables named in KRUNNER_PASS_ENV that are set."""
    names = [n.strip() for n in env.get("KRUNNER_PASS_ENV", "").split(",") if n.strip()]
    return {n: env[n] for n in names if n in env}
