"""The shared cache endpoint: KRUNNER_REMOTE_CACHE becomes `--remote_cache`, never a secret.

The endpoint is the machine's or the CI's business, so it comes from the
environment (or from user.bazelrc), not from a committed file. Credentials have
no place in it: a URL with `user:token@` would show in `ps`, in Bazel's logs and
in the execution log, so it is refused with the ways that keep it private.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from bazel_wrapper.errors import WrapperError

# Commands that accept --remote_cache.
CACHE_COMMANDS = {"build", "test", "run", "coverage", "cquery", "aquery", "info", "print_action"}
SCHEMES = {"http", "https", "grpc", "grpcs", "unix"}


def args(command: str | None, env: dict[str, str]) -> list[str]:
    """`--remote_cache=URL` for `command` when KRUNNER_REMOTE_CACHE names an endpoint."""
    url = env.get("KRUNNER_REMOTE_CACHE", "").strip()
    if not url or command not in CACHE_COMMANDS:
        return []
    parts = urlsplit(url)
    # Nothing of the URL is echoed in these errors: what it carries may be a secret.
    if parts.scheme not in SCHEMES:
        raise WrapperError(
            f"KRUNNER_REMOTE_CACHE: the scheme must be one of {', '.join(sorted(SCHEMES))} "
            "(for example grpc://127.0.0.1:8980 or https://cache.example/krunner)"
        )
    # An `@` anywhere before the query is user info, even when a raw `/` in a token
    # makes urlsplit read it as part of the path.
    if parts.username or parts.password or "@" in url.split("?", 1)[0].split("#", 1)[0]:
        raise WrapperError(
            "KRUNNER_REMOTE_CACHE carries credentials (user:token@): they would show on Bazel's "
            "command line and in its logs. Set the URL without them, and give the secret to Bazel "
            "through a credential helper (--credential_helper) or a --remote_header line in "
            "user.bazelrc (README, 'A shared cache')."
        )
    try:
        _ = parts.port  # urllib checks the port only when it is read
    except ValueError:
        raise WrapperError(
            "KRUNNER_REMOTE_CACHE: its port is not a number from 0 to 65535; "
            "fix the URL (for example grpc://127.0.0.1:8980)"
        ) from None
    return [f"--remote_cache={url}"]
