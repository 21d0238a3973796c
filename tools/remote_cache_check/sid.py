"""Run a program inside tools/bazel's pinned sid root, as the wrapper runs Bazel.

The cache servers run there rather than on the host: the root is already
provisioned (and pinned) for Bazel, its python3.13 is the one interpreter the
BuildGrid pins are for, and its libraries satisfy nginx's Depends, so the host
needs neither a Python of a given version nor any library packages.
"""

from __future__ import annotations

import os
from pathlib import Path

from bazel_wrapper import namespace, sid_root


def cache_dir() -> Path:
    """The wrapper's cache ($KRUNNER_CACHE or ~/.cache/krunner-bazel), resolved."""
    return sid_root.cache_dir()


def root() -> Path:
    """The ready sid root for this checkout's spec (provisioned on first use)."""
    namespace.check_support()
    return sid_root.ensure_root(sid_root.load_spec(), cache_dir())


def command(argv: list[str], env: dict[str, str], binds: list[Path]) -> list[str]:
    """The host command line running `argv` in the root; `env` is all the program sees
    besides the wrapper's minimal environment, and `binds` appear at their own paths."""
    pairs = [f"{k}={v}" for k, v in sorted(env.items())]
    return namespace.enter_command(
        root(), cwd=Path("/"), binds=binds, argv=["env", *pairs, *argv], env=dict(os.environ)
    )
