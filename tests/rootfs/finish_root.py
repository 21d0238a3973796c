#!/usr/bin/env python3
"""Turn the unpacked data files of some .debs into a root an image would have.

Run by the `debian_rootfs` repository rule after it extracted every package
into ROOT. No maintainer script runs, so this does what they and an image
build would have done, and no more:

- Absolute symlinks are made relative. Bazel's extraction may point an
  absolute link (`/lib64/ld-linux-x86-64.so.2 -> /lib/x86_64-linux-gnu/...`)
  at the repository's host path, which does not exist inside the chroot; an
  absolute target is rewritten as a relative one, so it resolves inside the
  root both under chroot and when the tests read the root from outside.
- Modes as dpkg would set them for an unprivileged user: Bazel's extraction
  leaves a program only its owner's execute bit (0744), so uid 1000 could not
  run /bin/sh; files executable by their owner become 0755, other files 0644,
  directories 0755.
- The merged-/usr links (/bin, /sbin, /lib, /lib64 -> usr/...) where the
  packages did not ship a directory of that name themselves (bullseye's do).
- The `links` of the root's lock entry (a shell at /bin/sh and so on) where
  no package shipped that path.
- Byte-code for a root's own Python, as python3's maintainer scripts
  (py3compile) would write it: a test runs as uid 1000 and could not write
  __pycache__, so without this every start of the image's Python (ipykernel
  for query mode) would compile all it imports. Done by the root's own
  python3 under chroot, so only when the root's architecture is this machine's.
- /etc/passwd and /etc/group with root and `work` (uid and gid 1000, home
  /home/work, as Backend.AI's images have), /etc/hosts with localhost,
  /home/work, /tmp with mode 1777, and empty mount points for /dev, /proc
  and /opt/backend.ai.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

MERGED_USR = {"bin": "usr/bin", "sbin": "usr/sbin", "lib": "usr/lib", "lib64": "usr/lib64"}
PASSWD = "root:x:0:0:root:/root:/bin/sh\nwork:x:1000:1000:work:/home/work:/bin/sh\n"
GROUP = "root:x:0:\nwork:x:1000:\n"
HOSTS = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"


def in_root_target(root: Path, link: Path, target: str, repo: str) -> str | None:
    """The absolute in-image path an absolute `target` means, or None if it is relative."""
    if not target.startswith("/"):
        return None
    for prefix in (str(root), repo):  # a link Bazel re-rooted at the repository's host path
        if prefix and (target == prefix or target.startswith(prefix.rstrip("/") + "/")):
            return "/" if target == prefix else "/" + os.path.relpath(target, prefix)
    return target


def relativize_links(root: Path, repo: str) -> int:
    """Rewrite every absolute symlink under root as a relative one; returns how many."""
    count = 0
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                continue
            target = in_root_target(root, path, os.readlink(path), repo)
            if target is None:
                continue
            inside = "/" + str(path.parent.relative_to(root)) if path.parent != root else "/"
            rel = os.path.relpath(target, inside)
            path.unlink()
            path.symlink_to(rel)
            count += 1
    return count


def normalise_modes(root: Path) -> None:
    """0755 for directories and owner-executable files, 0644 for other files (links untouched)."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(0o755 if path.is_dir() or mode & 0o100 else 0o644)


def compile_python(root: Path, arch: str) -> str:
    """Byte-compile the root's Python libraries with the root's python3; a line for the log."""
    python = root / "usr/bin/python3"
    if not os.path.lexists(python):
        return "no python3"
    if {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch) != platform.machine():
        return f"python3 not byte-compiled: a {arch} root on {platform.machine()}"
    dirs = [
        d
        for d in (
            "/usr/lib/python3/dist-packages",
            *(f"/{p.relative_to(root)}" for p in sorted(root.glob("usr/lib/python3.*"))),
        )
        if (root / d.lstrip("/")).is_dir()
    ]
    chroot = shutil.which("chroot", path="/usr/sbin:/usr/bin:/sbin:/bin")
    if not chroot:
        return "python3 not byte-compiled: no chroot here"
    proc = subprocess.run(
        [chroot, str(root), "/usr/bin/python3", "-m", "compileall", "-q", "-j", "1", *dirs],
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"},
    )
    # compileall reports sources it cannot compile (test data with syntax errors, py2 files) and exits 1
    return f"python3 byte-compiled {', '.join(dirs)} (compileall exit {proc.returncode})"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("root", type=Path, help="the directory the packages were extracted into")
    parser.add_argument(
        "--links", default="{}", help="JSON object: in-image path -> symlink target"
    )
    parser.add_argument("--arch", default="", help="the root's Debian architecture (amd64, arm64)")
    parser.add_argument(
        "--repo", default="", help="the repository's host directory (Bazel may re-root links there)"
    )
    args = parser.parse_args(argv)
    root = args.root.resolve()
    fixed = relativize_links(root, args.repo)
    normalise_modes(root)
    for link, target in MERGED_USR.items():
        if not os.path.lexists(root / link):
            (root / target).mkdir(parents=True, exist_ok=True)
            (root / link).symlink_to(target)
    for link, target in json.loads(args.links).items():
        path = root / link
        if os.path.lexists(path):  # the package ships it in this suite
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target)
    etc = root / "etc"
    etc.mkdir(exist_ok=True)
    for name, text in (("passwd", PASSWD), ("group", GROUP), ("hosts", HOSTS)):
        (etc / name).write_text(text)
        (etc / name).chmod(0o644)
    for d in ("dev", "proc", "opt/backend.ai", "home/work", "root"):
        (root / d).mkdir(parents=True, exist_ok=True)
    (root / "tmp").mkdir(exist_ok=True)
    (root / "tmp").chmod(0o1777)
    print(
        f"finish_root: {fixed} absolute symlinks made relative; {compile_python(root, args.arch)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
