"""configure_make for builds that compile C++ or take files built elsewhere.

The same build as configure_make.py (which it imports and runs unchanged, at
/mnt in a private namespace), plus, as the plan asks:
- `cxx`: `c++`, `g++` and `clang++` run zig c++ for the target (instead of the
  wrapper that refuses), with the plan's cc_flags and cxx_flags. zig c++ links
  zig's own libc++ and libc++abi statically: no image's libstdc++ or libgcc_s.
- `cxx_runtime_flags`: after the C probes, a C++ probe is linked with these
  flags on one CPU, so zig builds libc++ and libc++abi once, keyed as the real
  link needs them, with their archive members in a fixed order.
- `extra`: {execroot path: path in the source tree} of files to copy into the
  tree before the first step (say, Cython's C output).

It is a separate driver so that configure_make.py, and with it the action key of
every C-only build (CPython and its libraries), stays as it was: adding a C++
library does not rebuild those, in any cache.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# configure_make.py sits beside this file (runfiles, or the source tree).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import configure_make as cm  # noqa: E402

PROBE_CXX = '#include <string>\nextern "C" int krunner_probe(const char *s) { return (int)std::string(s).size(); }\n'


def _cxx_wrapper(plan: dict) -> str:
    """configure_make's compiler wrapper, running zig c++ instead of zig cc."""
    text = cm.CC.replace("# zig cc for", "# zig c++ for").replace("zig/zig cc ", "zig/zig c++ ")
    return text.format(
        triple=plan["triple"],
        fixed=cm.FIXED,
        extra=" ".join(plan["cc_flags"] + plan.get("cxx_flags", [])),
    )


def install_hooks(plan: dict) -> None:
    """Extend configure_make's build for this plan: C++ wrappers, extra files, libc++ warming."""
    write_tool, copy_tree, run = cm._write_tool, cm._copy_tree, cm._run

    def _write_tool(path: Path, text: str) -> None:
        if plan.get("cxx") and path.name in ("c++", "g++"):
            text = _cxx_wrapper(plan)
            if path.name == "c++":
                (path.parent / "clang++").symlink_to("c++")
        write_tool(path, text)

    def _copy_tree(src: Path, dest: Path) -> None:
        copy_tree(src, dest)
        if dest == cm.FIXED / "src":
            for src_path, rel in plan.get("extra", {}).items():
                target = dest / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(os.path.realpath(src_path), target)
                os.chmod(target, 0o644)

    def _run(argv: list[str], cwd: Path, env: dict[str, str], what: str, log: Path) -> None:
        run(argv, cwd, env, what, log)
        if (
            what == "warming zig's cache (shared object)"
            and plan.get("cxx")
            and plan.get("cxx_runtime_flags")
        ):
            probe = cm.FIXED / "tmp/probe_cxx.cpp"
            probe.write_text(PROBE_CXX)
            pin = argv[:3] if argv[:1] == ["taskset"] else []
            run(
                pin
                + [
                    "c++",
                    *plan["cxx_runtime_flags"],
                    "-o",
                    str(cm.FIXED / "tmp/probe_cxx.so"),
                    str(probe),
                ],
                cwd,
                env,
                "warming zig's cache (libc++)",
                log,
            )

    cm._write_tool, cm._copy_tree, cm._run = _write_tool, _copy_tree, _run


def main(argv: list[str]) -> int:
    """Parse arguments; outside the namespace, enter it (running this file); inside, build."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("plan", type=Path, help="the JSON plan the configure_make rule wrote")
    p.add_argument("--inside", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    plan = json.loads(args.plan.read_text())
    for key in ("source", "zig", "out"):
        plan[key] = os.path.abspath(plan[key])
    plan["deps"] = [os.path.abspath(d) for d in plan["deps"]]
    plan["extra"] = {os.path.abspath(k): v for k, v in plan.get("extra", {}).items()}
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
    install_hooks(plan)
    try:
        cm.build(plan, args.inside)
    except (cm.BuildError, OSError, subprocess.CalledProcessError) as err:
        print(f"configure_make: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
