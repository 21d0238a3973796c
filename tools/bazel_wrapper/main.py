"""tools/bazel: run Bazel >= 7.7 for this workspace, provisioning 7.7.1 if there is none.

Order of choice: `BAZEL_REAL` (set by Bazelisk when it calls tools/bazel as the
workspace wrapper) or `KRUNNER_BAZEL`, if it reports a version >= 7.7; otherwise
Debian's bazel-bootstrap 7.7.1 in the pinned sid root (sid_root.py). When the
upstream source hosts cannot be reached, the offline mirror is filled first and
the build is pointed at it with `--config=offline`.
"""

from __future__ import annotations

import getpass
import os
import re
import subprocess
import sys
from pathlib import Path

from mirror.debian import NoDebianMirror, debian_mirror

from bazel_wrapper import (
    credentials,
    forward,
    manifest,
    namespace,
    network,
    remote_cache,
    sid_root,
    system_rc,
    trust,
)
from bazel_wrapper.errors import WrapperError

WORKSPACE = Path(__file__).resolve().parents[2]
LOCK = WORKSPACE / "third_party" / "sources.lock.json"
MIN_VERSION = (7, 7)
# Commands that may fetch or build: they get the PyPI index and, offline, the mirror.
# Commands that take build options (--action_env); query and fetch do not.
BUILD_OPTION_COMMANDS = {
    "build",
    "test",
    "run",
    "coverage",
    "cquery",
    "aquery",
    "info",
    "print_action",
}
FETCHING_COMMANDS = {
    "build",
    "test",
    "run",
    "fetch",
    "query",
    "cquery",
    "aquery",
    "coverage",
    "mod",
    "sync",
    "info",
    "print_action",
    "vendor",
}


def split_args(argv: list[str]) -> tuple[list[str], str | None, list[str]]:
    """Split a Bazel command line into startup options, the command, and the rest."""
    for i, arg in enumerate(argv):
        if not arg.startswith("-"):
            return argv[:i], arg, argv[i + 1 :]
    return argv, None, []


def bazel_version(binary: str) -> tuple[int, ...] | None:
    """The version `binary --version` reports, or None if it is not a Bazel that runs."""
    try:
        out = subprocess.run(
            [binary, "--version"],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "KRUNNER_WRAPPED": "1"},
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"bazel (\d+)\.(\d+)\.(\d+)", out)
    return tuple(int(g) for g in match.groups()) if match else None


def real_bazel(env: dict[str, str]) -> str | None:
    """A usable real Bazel named by BAZEL_REAL or KRUNNER_BAZEL, else None."""
    for var in ("KRUNNER_BAZEL", "BAZEL_REAL"):
        binary = env.get(var)
        if not binary:
            continue
        version = bazel_version(binary)
        if version and version[:2] >= MIN_VERSION:
            return binary
        print(
            f"tools/bazel: ignoring {var}={binary}: it reports version {version}, "
            f"this workspace needs >= {'.'.join(map(str, MIN_VERSION))}.",
            file=sys.stderr,
        )
    return None


def output_user_root(startup: list[str], default: Path) -> Path:
    """The output user root this call uses: --output_user_root if given, else `default`."""
    for arg in startup:
        if arg.startswith("--output_user_root="):
            return Path(arg.split("=", 1)[1])
    return default


def extra_command_args(
    command: str | None, env: dict[str, str], cache: Path, child_env: dict[str, str]
) -> list[str]:
    """Flags the wrapper adds after the command: PyPI index, npm registry, Debian mirror, offline mirror.

    The index's credentials, if any, go into a private file that a credential
    helper reads (credentials.py), never onto the command line, and so do the
    Debian mirror's; `child_env` gets the variables Bazel then needs.
    """
    if command not in FETCHING_COMMANDS:
        return []
    urls = {"KRUNNER_PYPI_INDEX": (network.pip_index_url(env), "the package index URL")}
    npm_registry = network.npm_registry_url(env)
    if npm_registry:  # the lint tools' npm packages (third_party/npm)
        urls["KRUNNER_NPM_REGISTRY"] = (npm_registry, "the npm registry URL")
    try:  # Debian packages for the test root filesystems come from apt's own mirror.
        urls["KRUNNER_DEBIAN_MIRROR"] = (debian_mirror(), "apt's Debian mirror URL")
    except NoDebianMirror:
        pass
    # A URL's credentials (the index's, or a mirror's `user:password@`) go to the helper.
    args = credentials.url_args(urls, cache, child_env)
    if network.is_offline(LOCK, env):
        from mirror import fill  # only the offline path pays for importing it

        mirror = trust.private_dir(cache / "mirror", "offline mirror")
        try:
            layout = fill.fill(LOCK, mirror, log=lambda m: print(m, file=sys.stderr))
        except fill.MirrorError as err:
            raise WrapperError(f"offline mirror: {err}") from err
        for part in (layout.distdir, layout.substitutes):
            trust.check_path(part, "offline mirror")
        args += [
            "--config=offline",
            f"--distdir={layout.distdir}",
            f"--repo_env=KRUNNER_OFFLINE_MIRROR={layout.substitutes}",
        ]
    return args


def root_identity_args(command: str | None, digest: str) -> list[str]:
    """Put the sid root's manifest digest into every action's key.

    Actions run with the root's tools (python3, the JDK, coreutils); an action
    environment value that names the root's manifest makes outputs built in one
    root never count as outputs of another, in any cache. Exec-configuration
    actions get it too (--host_action_env).
    """
    if command not in BUILD_OPTION_COMMANDS:
        return []
    return [
        f"--action_env=KRUNNER_SID_ROOT={digest}",
        f"--host_action_env=KRUNNER_SID_ROOT={digest}",
    ]


def debian_version_banner(root: Path) -> str:
    """What `version` prints for Debian's Bazel, whose own `version` has no build info."""
    label = (root / "usr/share/bazel/build-label.txt").read_text().strip()
    spec = sid_root.load_spec()
    digest, count = manifest.digest(root)
    return (
        f"Build label: {label}\n"
        f"Build target: Debian bazel-bootstrap {spec.pinned['bazel-bootstrap']} "
        f"(sid root {root}, provisioned by tools/bazel)\n"
        f"Sid root manifest: sha256 {digest} ({count} packages, "
        f"{root / manifest.MANIFEST})\n"
    )


def main(argv: list[str]) -> int:
    """Entry point: returns an exit code, or replaces this process with Bazel."""
    # Everything the wrapper makes (cache, output root, the root's marker) must pass
    # its own trust check: under umask 002 it would be group-writable, and refused.
    trust.mask_group_writes()
    env = dict(os.environ)
    startup, command, rest = split_args(argv)
    cache = sid_root.cache_dir()
    try:
        trust.private_dir(cache, "cache directory")
        binary = real_bazel(env)
        default_root = (
            Path.home() / ".cache/bazel" / f"_bazel_{getpass.getuser()}"
            if binary
            else cache / "output"
        )
        out_root = output_user_root(startup, default_root)
        child_extra = forward.passed_env(env)
        extra = extra_command_args(command, env, cache, child_extra) + remote_cache.args(
            command, env
        )
        if binary:
            full = startup + ([command] + extra + rest if command else [])
            os.execve(binary, [binary] + full, {**env, **child_extra})
        namespace.check_support()
        root = sid_root.ensure_root(sid_root.load_spec(), cache)
        if command == "version" and not rest:
            sys.stdout.write(debian_version_banner(root))
            return 0
        extra += root_identity_args(command, manifest.digest(root)[0])
        full = startup + ([command] + extra + rest if command else [])
        trust.make_dirs(out_root)
        trust.check_path(out_root, "Bazel output root")
        cwd = Path.cwd()
        if not (cwd == WORKSPACE or WORKSPACE in cwd.parents):
            cwd = WORKSPACE
        binds = [WORKSPACE, cache]
        if not (out_root == cache or cache in out_root.parents):
            binds.append(out_root)
        binds += forward.binds(full, startup, WORKSPACE, cwd, env, covered=list(binds))
        quiet_rc = system_rc.quiet_copy(root, cache)
        if quiet_rc:
            binds.append(forward.Bind(quiet_rc, system_rc.INSIDE, True))
        # A server started in an older root would keep running there, and it sees only
        # the mounts of the call that started it (it writes execution logs and
        # profiles, and reads certificates, itself). Naming the root and the mounts
        # in startup options makes Bazel restart its server when either changes.
        bazel_argv = [
            "/usr/bin/bazel",
            f"--output_user_root={out_root}",
            f"--host_jvm_args=-Dkrunner.sid_root={root.name}",
            f"--host_jvm_args=-Dkrunner.mounts={forward.mounts_key(binds)}",
        ]
        cmd = namespace.enter_command(
            root, cwd=cwd, binds=binds, argv=bazel_argv + full, env=env, extra_env=child_extra
        )
        # The values travel in the environment, which only this user can read.
        os.execvpe(cmd[0], cmd, namespace.enter_env(env, child_extra))
    except WrapperError as err:
        print(f"tools/bazel: error: {err}", file=sys.stderr)
        return 2
    return 0
