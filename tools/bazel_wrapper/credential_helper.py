#!/usr/bin/env python3
"""Bazel credential helper for the package index (see credentials.py).

Bazel runs `credential_helper.py get` with `{"uri": ...}` on stdin and expects
`{"headers": {...}}` on stdout. The answer is a Basic Authorization header built
from the file named by KRUNNER_CREDENTIALS_FILE, given only for URIs on a host
recorded there (each host its own); for anything else, no headers.
"""

import base64
import json
import os
import sys
import urllib.parse


def headers_for(uri: str, creds: dict | list) -> dict:
    """The headers to send for `uri`, given the stored credentials (one host's, or a list)."""
    host = urllib.parse.urlsplit(uri).hostname
    for entry in creds if isinstance(creds, list) else [creds]:
        if host is not None and host == entry.get("host"):
            token = base64.b64encode(f"{entry['login']}:{entry['password']}".encode()).decode()
            return {"Authorization": [f"Basic {token}"]}
    return {}


def main(argv: list[str]) -> int:
    """Answer one `get` request; any other command is refused, as the protocol asks."""
    if argv[1:] != ["get"]:
        print(f"usage: {argv[0]} get (the Bazel credential helper protocol)", file=sys.stderr)
        return 2
    request = json.load(sys.stdin)
    path = os.environ.get("KRUNNER_CREDENTIALS_FILE", "")
    try:
        with open(path) as f:
            creds = json.load(f)
    except (OSError, ValueError) as err:
        print(
            f"credential_helper: cannot read the index credentials {path!r} ({err}); "
            "run Bazel through tools/bazel, which writes them",
            file=sys.stderr,
        )
        return 1
    json.dump({"headers": headers_for(request.get("uri", ""), creds)}, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
