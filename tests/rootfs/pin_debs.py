#!/usr/bin/env python3
"""Resolve the test images' Debian packages and write their pins into debs.lock.json.

Each root in the lock names what it asks for (`suite`, `arch`, `request`, and
`exclude` with a reason per package); this tool writes its `packages`: the
requested packages and everything they Depend or Pre-Depend on, closed
transitively, as name, version, pool path and sha256. Recommends are not
followed, and an excluded package is left out with its own dependencies (unless
something else needs them).

The archive is the one this machine's apt uses (`KRUNNER_DEBIAN_MIRROR`
overrides it, as for tools/mirror). A suite's InRelease is checked with gpgv
against Debian's archive keyring, the Packages index against InRelease's
SHA256, and every pin is that index's `SHA256` field, which the rootfs rule
checks again at download.

    tests/rootfs/pin_debs.py                     # every root
    tests/rootfs/pin_debs.py trixie_glibc_amd64  # one root
"""

from __future__ import annotations

import argparse
import hashlib
import json
import lzma
import re
import subprocess
import sys
import tempfile
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORKSPACE = HERE.parents[1]
LOCK = HERE / "debs.lock.json"
KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=120) as resp:
        return resp.read()


def verified_release(mirror: str, suite: str) -> str:
    """The suite's InRelease text, after gpgv accepts its signature."""
    data = fetch(f"{mirror}/dists/{suite}/InRelease")
    with tempfile.NamedTemporaryFile(suffix=".InRelease") as f:
        f.write(data)
        f.flush()
        proc = subprocess.run(
            ["gpgv", "--keyring", str(KEYRING), f.name], capture_output=True, text=True
        )
    if proc.returncode != 0:
        sys.exit(
            f"pin_debs: {suite}'s InRelease is not signed by a key in {KEYRING}:\n{proc.stderr}"
        )
    return data.decode()


def packages_index(mirror: str, suite: str, arch: str) -> dict[str, dict[str, str]]:
    """main/binary-<arch>/Packages of a suite, checked against InRelease: package -> fields."""
    release = verified_release(mirror, suite)
    name = f"main/binary-{arch}/Packages.xz"
    section = release.split("\nSHA256:\n", 1)[1]
    match = re.search(rf"^ ([0-9a-f]{{64}})\s+\d+ {re.escape(name)}$", section, re.M)
    if not match:
        sys.exit(f"pin_debs: {suite}'s InRelease lists no {name}")
    data = fetch(f"{mirror}/dists/{suite}/{name}")
    if hashlib.sha256(data).hexdigest() != match.group(1):
        sys.exit(f"pin_debs: {suite}/{name} does not match the sha256 in InRelease")
    index: dict[str, dict[str, str]] = {}
    for stanza in lzma.decompress(data).decode().split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in stanza.splitlines():
            if line.startswith((" ", "\t")) and key:
                fields[key] += "\n" + line
            elif ":" in line:
                key, value = line.split(":", 1)
                fields[key] = value.strip()
        if "Package" in fields:
            index.setdefault(fields["Package"], fields)  # one version per suite
    return index


def providers(index: dict[str, dict[str, str]]) -> dict[str, list[str]]:
    """Virtual package -> the real packages that Provide it."""
    out: dict[str, list[str]] = {}
    for name, fields in index.items():
        for item in fields.get("Provides", "").split(","):
            if item.strip():
                out.setdefault(item.split()[0].split(":")[0], []).append(name)
    return out


def resolve(
    index: dict[str, dict[str, str]], request: list[str], exclude: dict[str, str]
) -> list[str]:
    """The closure of `request` over Depends and Pre-Depends, first satisfiable alternative each."""
    virtual = providers(index)
    chosen: list[str] = []
    todo = list(request)
    while todo:
        name = todo.pop(0)
        if name in chosen or name in exclude:
            continue
        if name not in index:
            sys.exit(f"pin_debs: no package {name!r} in the index")
        chosen.append(name)
        fields = index[name]
        for field in ("Pre-Depends", "Depends"):
            for dep in filter(None, (d.strip() for d in fields.get(field, "").split(","))):
                alternatives = [a.split()[0].split(":")[0] for a in dep.split("|")]
                if any(a in chosen or a in exclude for a in alternatives):
                    continue
                real = [a for a in alternatives if a in index]
                if not real:
                    real = [p for a in alternatives for p in sorted(virtual.get(a, []))]
                if not real:
                    sys.exit(f"pin_debs: {name} needs {dep!r}, which nothing in the suite provides")
                todo.append(real[0])
    return sorted(chosen)


def pin_root(mirror: str, spec: dict) -> list[dict]:
    index = packages_index(mirror, spec["suite"], spec["arch"])
    names = resolve(index, spec["request"], spec.get("exclude", {}))
    return [
        {
            "package": n,
            "version": index[n]["Version"],
            "arch": index[n]["Architecture"],
            "path": index[n]["Filename"],
            "sha256": index[n]["SHA256"],
        }
        for n in names
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("roots", nargs="*", help="roots of debs.lock.json to pin (default: all)")
    args = parser.parse_args(argv)
    lock = json.loads(LOCK.read_text())
    unknown = set(args.roots) - set(lock["roots"])
    if unknown:
        parser.error(
            f"no root {sorted(unknown)} in {LOCK.name}; add its suite, arch and request there first"
        )
    sys.path.insert(0, str(WORKSPACE / "tools"))
    from mirror.debian import (
        debian_mirror,
    )  # this machine's apt configuration, as tools/mirror reads it

    mirror = debian_mirror()
    for name in args.roots or sorted(lock["roots"]):
        spec = lock["roots"][name]
        spec["packages"] = pin_root(mirror, spec)
        print(f"{name}: {spec['suite']}/{spec['arch']}, {len(spec['packages'])} packages")
    LOCK.write_text(json.dumps(lock, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
