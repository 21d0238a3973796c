"""Build a configure-and-make source tree for one zig target, at a fixed path.

configure and make write the build directory into what they produce (CPython's
sysconfig data, OpenSSL's build info, `__FILE__` in assertions, libtool
archives). A Bazel action's directory differs per output base and per sandbox,
so the build runs in a private user and mount namespace where its scratch
directory is bind-mounted at one fixed path, /mnt: the same inputs give the same
bytes wherever the action runs. zig's lib/ is bind-mounted there too, and zig's
cache is private to the action. Before configure, the cache is warmed on one CPU
by linking a probe executable and a probe shared object, so zig's libc, crt files
and compiler-rt are built once and in a fixed order (their archive members are
otherwise ordered by which compilation finishes first).

The plan is a JSON file written by the `configure_make` rule; its commands may
use {prefix}, {deps}, {dest}, {jobs}, {build} and {host}. The install tree under
DESTDIR{prefix} becomes the output directory, minus the plan's `remove` globs.
A failed step prints its log's tail; Bazel then discards the partial output.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

FIXED = Path("/mnt")
SOURCE_DATE_EPOCH = "315532800"  # 1980-01-01, the zip epoch the wheels use too

CC = """#!/bin/sh
# zig cc for {triple}. Executables are position-independent (musl's loader
# mishandles copy relocations against zig's stub libc.so) and every link is
# stripped: zig's cache is keyed on -s, and debug info would carry paths.
mode=exe
for a in "$@"; do
  case "$a" in -c|-S|-E|-M|-MM|-r) mode=none ;; -shared) mode=shared ;; esac
done
case $mode in exe) set -- -pie -s "$@" ;; shared) set -- -s "$@" ;; esac
exec {fixed}/zig/zig cc -target {triple} {extra} "$@"
"""

BUILD_CC = """#!/bin/sh
# A C compiler for programs that only run during the build (SQLite's jimsh and
# generators): the sid root's gcc, whose version its manifest pins. Nothing it
# compiles is shipped, and zig would first build a static libc for the host.
exec /usr/bin/gcc "$@"
"""

NO_CXX = """#!/bin/sh
echo "configure_make: this build has no C++ compiler; a C-only dependency asked for one" >&2
exit 1
"""

TOOL = """#!/bin/sh
exec {fixed}/zig/zig {tool} "$@"
"""


class BuildError(Exception):
    """A step of the build failed; the message says which and why."""


def _host_arch() -> str:
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(platform.machine(), platform.machine())


def _write_tool(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(0o755)


def _copy_tree(src: Path, dest: Path) -> None:
    """Copies `src` into `dest` with symlinks followed (inputs are links into the execroot).

    Every copy gets one mtime: generated files (configure, aclocal.m4) must not
    look older than their sources, or make would try to regenerate them.
    """
    shutil.copytree(src, dest, symlinks=False, dirs_exist_ok=True, copy_function=shutil.copy)
    stamp = int(SOURCE_DATE_EPOCH)
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            os.chmod(p, os.stat(p).st_mode | 0o200)
            os.utime(p, (stamp, stamp))


def _run(argv: list[str], cwd: Path, env: dict[str, str], what: str, log: Path) -> None:
    with open(log, "ab") as f:
        f.write(("\n$ " + " ".join(argv) + "\n").encode())
        f.flush()
        proc = subprocess.run(argv, cwd=cwd, env=env, stdout=f, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = log.read_bytes()[-6000:].decode(errors="replace")
        hint = ""
        config_log = cwd / "config.log"
        if config_log.exists() and "configure" in what:
            hint = "\n--- config.log (tail) ---\n" + config_log.read_bytes()[-4000:].decode(
                errors="replace"
            )
        raise BuildError(
            f"{what} failed (exit {proc.returncode}): {' '.join(argv)}\n--- log (tail) ---\n{tail}{hint}"
        )


def _expand(argv: list[str], values: dict[str, str]) -> list[str]:
    return [a.format(**values) for a in argv]


def build(plan: dict, work: Path) -> None:
    """Runs the plan with `work` visible at FIXED; fills plan['out']."""
    for d in ("src", "deps", "dest", "bin", "zig", "zig-cache", "tmp"):
        (work / d).mkdir()
    zig_dir = Path(os.path.realpath(plan["zig"])).parent
    subprocess.run(["mount", "--bind", str(work), str(FIXED)], check=True)
    subprocess.run(["mount", "--bind", str(zig_dir), str(FIXED / "zig")], check=True)

    source = Path(os.path.realpath(plan["source"])).parent
    _copy_tree(source, FIXED / "src")
    for dep in plan["deps"]:
        _copy_tree(Path(dep), FIXED / "deps")
    (FIXED / "deps/include").mkdir(exist_ok=True)
    (FIXED / "deps/lib").mkdir(exist_ok=True)

    triple = plan["triple"]
    bindir = FIXED / "bin"
    _write_tool(
        bindir / "cc", CC.format(triple=triple, fixed=FIXED, extra=" ".join(plan["cc_flags"]))
    )
    # Configure scripts that look for gcc or clang by name find zig too, never the root's gcc.
    for name in ("gcc", "clang"):
        (bindir / name).symlink_to("cc")
    for name in ("c++", "g++"):
        _write_tool(bindir / name, NO_CXX)
    _write_tool(bindir / "build-cc", BUILD_CC)
    for tool in ("ar", "ranlib"):
        _write_tool(bindir / tool, TOOL.format(fixed=FIXED, tool=tool))

    values = {
        "prefix": plan["prefix"],
        "deps": str(FIXED / "deps"),
        "dest": str(FIXED / "dest"),
        "jobs": str(plan["jobs"]),
        "build": f"{_host_arch()}-pc-linux-gnu",
        "host": plan["host"],
        "src": str(FIXED / "src"),
    }
    env = {
        "PATH": f"{bindir}:/usr/bin:/bin",
        "HOME": str(FIXED / "tmp"),
        "TMPDIR": str(FIXED / "tmp"),
        "LC_ALL": "C",
        "TZ": "UTC",
        "SOURCE_DATE_EPOCH": SOURCE_DATE_EPOCH,
        "ZIG_LIB_DIR": str(FIXED / "zig/lib"),
        "ZIG_GLOBAL_CACHE_DIR": str(FIXED / "zig-cache"),
        "ZIG_LOCAL_CACHE_DIR": str(FIXED / "zig-cache"),
        "CC": "cc",
        "CXX": "c++",
        "AR": "ar",
        "RANLIB": "ranlib",
        "CC_FOR_BUILD": "build-cc",
        "BUILD_CC": "build-cc",
        # libtool's configure check "static flag -static works" links a static
        # executable, for which zig would build all of musl's libc.a (minutes)
        # only to answer a question these static-only builds never ask.
        "lt_cv_prog_compiler_static_works": "yes",
    }
    env.update({k: v.format(**values) for k, v in plan["env"].items()})
    log = FIXED / "tmp/build.log"
    src = FIXED / "src"

    # Warm zig's cache on one CPU: libc, crt files and compiler-rt, in a fixed order.
    probe = FIXED / "tmp/probe.c"
    probe.write_text(
        "int krunner_probe(void) { return 0; }\nint main(void) { return krunner_probe(); }\n"
    )
    cpu = os.sched_getaffinity(0)
    pin = ["taskset", "-c", str(min(cpu))] if shutil.which("taskset") else []
    _run(
        pin + ["cc", "-fPIC", "-o", str(FIXED / "tmp/probe"), str(probe)],
        FIXED / "tmp",
        env,
        "warming zig's cache (executable)",
        log,
    )
    _run(
        pin + ["cc", "-fPIC", "-shared", "-o", str(FIXED / "tmp/probe.so"), str(probe)],
        FIXED / "tmp",
        env,
        "warming zig's cache (shared object)",
        log,
    )

    for i, step in enumerate(plan["steps"]):
        what = step.get("what") or f"step {i + 1}"
        _run(
            _expand(step["argv"], values),
            src / step.get("cwd", ""),
            env,
            f"{plan['name']}: {what}",
            log,
        )

    installed = FIXED / "dest" / plan["prefix"].lstrip("/")
    if not installed.is_dir():
        raise BuildError(f"{plan['name']}: nothing was installed under DESTDIR{plan['prefix']}")
    for pattern in plan["remove"]:
        for p in sorted(glob.glob(str(installed / pattern), recursive=True), reverse=True):
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            elif os.path.lexists(p):
                os.unlink(p)
    out = Path(plan["out"])
    shutil.copytree(installed, out, symlinks=True, dirs_exist_ok=True)


def main(argv: list[str]) -> int:
    """Parse arguments; outside the namespace, enter it; inside, build."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("plan", type=Path, help="the JSON plan the configure_make rule wrote")
    p.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    # Paths in the plan are execroot-relative; the namespace step changes nothing about cwd.
    for key in ("source", "zig", "out"):
        plan[key] = os.path.abspath(plan[key])
    plan["deps"] = [os.path.abspath(d) for d in plan["deps"]]
    if args.inside is None:
        work = Path(
            tempfile.mkdtemp(prefix="configure-make.", dir=os.environ.get("TMPDIR", "/tmp"))
        )
        try:
            proc = subprocess.run(
                [
                    "unshare",
                    "--user",
                    "--map-root-user",
                    "--mount",
                    "--propagation",
                    "private",
                    sys.executable,
                    os.path.abspath(__file__),
                    str(args.plan.absolute()),
                    "--inside",
                    str(work),
                ]
            )
        finally:
            subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
            shutil.rmtree(work, ignore_errors=True)
        return proc.returncode
    try:
        build(plan, args.inside)
    except (BuildError, OSError, subprocess.CalledProcessError) as err:
        print(f"configure_make: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
