"""Install a target's wheels into a volume-root directory without running the target.

For each wheel in the lock:
- its sha256 must be the lock's (for a `built_from_source` entry: it must be a
  wheel this build made, given with --built-wheel; its sdist was checked by
  sha256 when fetched), and its tags must fit the target (CPython 3.13,
  the target's platform family and architecture, or pure Python); anything else
  is refused by name (a wheel for the wrong arch, a tampered file);
- purelib/platlib go to lib/python3.13/site-packages, `.data/scripts` to bin/
  and `.data/data` to the volume root; members that would land outside are refused;
- a package's own test suite (a `test/` or `tests/` directory inside it, such as
  tornado's 2.4 MB `tornado/test/`) is left out, as CPython's is: nothing a
  runner imports reaches into one;
- console scripts from entry_points.txt become launchers, and every `#!python`
  shebang becomes `#!/opt/backend.ai/bin/python3` (where the volume is mounted);
  a script's name must be one file name and its target a dotted Python name;
- no path is installed twice: two wheels (or one wheel's members, or a launcher)
  that would write one path are refused, as is a malformed `.data` member;
- INSTALLER says "krunner" and RECORD lists what was really installed.
Then every .py is byte-compiled by the exec side's CPython 3.13 (a separate
`--compiler`, never the target's interpreter) with unchecked-hash pycs whose
recorded source path is the final /opt/backend.ai path: no mtimes, no build paths.
"""

from __future__ import annotations

import argparse
import base64
import configparser
import csv
import hashlib
import io
import json
import os
import re
import sys
import zipfile
import zlib
from pathlib import Path, PurePosixPath

# pyc.py sits beside this file wherever it runs (runfiles, a test's copy); Python
# puts the *resolved* script directory on sys.path, which need not hold it.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import elf_strip  # noqa: E402
import pyc  # noqa: E402

VOLUME = "/opt/backend.ai"
# Directory names of test suites below a top-level package (never the top level
# itself, nor a module such as tornado/testing.py, which is runtime API).
TEST_SUITES = {"test", "tests"}
SHEBANG = f"#!{VOLUME}/bin/python3"
LAUNCHER = """{shebang}
# -*- coding: utf-8 -*-
import re
import sys
from {module} import {attr_root}
if __name__ == "__main__":
    sys.argv[0] = re.sub(r"(-script\\.pyw|\\.exe)?$", "", sys.argv[0])
    sys.exit({call}())
"""


class InstallError(Exception):
    """A wheel that cannot be installed for this target; the message names it."""


# A console script's target: `module.sub:attr.sub`, as the entry points spec allows.
DOTTED = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


class Claims:
    """Which wheel wrote each installed path: a second writer is refused by name."""

    def __init__(self) -> None:
        self.owner: dict[Path, str] = {}
        self.dirs: dict[Path, str] = {}  # directories the files claimed so far need

    def claim(self, path: Path, who: str) -> None:
        """Record that `who` writes `path`; raise if another wheel (or `who`) already did,
        or if a claimed file stands where `path` needs a directory, or the reverse."""
        if path in self.owner:
            raise InstallError(
                f"{who} would install {path}, which {self.owner[path]} already "
                "installed: two distributions ship one path; drop one from the lock"
            )
        if path in self.dirs:
            raise InstallError(
                f"{who} would install the file {path}, a directory of what "
                f"{self.dirs[path]} installed"
            )
        for parent in path.parents:
            if parent in self.owner:
                raise InstallError(
                    f"{who} would install {path} below {parent}, a file "
                    f"{self.owner[parent]} installed"
                )
        self.owner[path] = who
        for parent in path.parents:
            self.dirs.setdefault(parent, who)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_tags(filename: str) -> tuple[set[str], set[str], set[str]]:
    """(python tags, abi tags, platform tags) of a wheel file name."""
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        raise InstallError(f"{filename}: not a wheel file name")
    py, abi, plat = parts[-3:]
    return set(py.split(".")), set(abi.split(".")), set(plat.split("."))


def check_tags(filename: str, platform: str) -> None:
    """Refuse a wheel whose tags do not fit CPython 3.13 on `platform` (e.g. musllinux_1_2_aarch64)."""
    py, abi, plats = wheel_tags(filename)
    family, arch = re.match(r"(manylinux|musllinux)_\d+_\d+_(\w+)$", platform).groups()
    ok_plat = "any" in plats or any(
        p.endswith("_" + arch)
        and (p.startswith(family) or (family == "manylinux" and p.startswith("manylinux")))
        for p in plats
    )
    ok_py = (
        bool(py & {"py3", "py2.py3", "cp313"})
        or any(t.startswith("cp3") and int(t[3:]) <= 13 for t in py if t[3:].isdigit())
        and "abi3" in abi
    )
    ok_abi = bool(abi & {"none", "cp313", "abi3"})
    if not (ok_plat and ok_py and ok_abi):
        raise InstallError(
            f"{filename} (tags {'.'.join(sorted(py))}-{'.'.join(sorted(abi))}-"
            f"{'.'.join(sorted(plats))}) is not for CPython 3.13 on {platform}: "
            "a wheel for the wrong arch or platform in the lock; re-run tools/lock_packages"
        )


def _safe(rel: str, filename: str) -> PurePosixPath:
    path = PurePosixPath(rel)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise InstallError(f"{filename}: member {rel!r} would be installed outside the volume")
    return path


def is_test_suite(rel: PurePosixPath) -> bool:
    """Whether `rel` (relative to site-packages) is inside a package's own test suite."""
    return any(part in TEST_SUITES for part in rel.parts[1:-1])


def install_wheel(whl: Path, out: Path, site: str, claims: Claims | None = None) -> list[str]:
    """Unpack one wheel; returns its dist-info directory name (relative to site-packages).

    Raises InstallError for a wheel that is not a readable zip, a member that would
    land outside `out`, and a path `claims` says is already installed.
    """
    claims = claims if claims is not None else Claims()
    try:
        return _install_wheel(whl, out, site, claims)
    except (
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        zlib.error,
        EOFError,
        NotImplementedError,
        RuntimeError,
        UnicodeDecodeError,
    ) as err:
        raise InstallError(
            f"{whl.name}: not a readable wheel ({type(err).__name__}: {' '.join(str(err).split())})"
        ) from None


def _install_wheel(whl: Path, out: Path, site: str, claims: Claims) -> list[str]:
    with zipfile.ZipFile(whl) as zf:
        names = zf.namelist()
        dist_info = sorted(
            {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
        )
        if len(dist_info) != 1:
            raise InstallError(f"{whl.name}: expected one .dist-info directory, found {dist_info}")
        data_dir = dist_info[0][: -len(".dist-info")] + ".data"
        for info in zf.infolist():
            if info.is_dir():
                continue
            rel = _safe(info.filename, whl.name)
            data = zf.read(info)
            executable = (info.external_attr >> 16) & 0o111
            if rel.parts[0] == data_dir:
                if len(rel.parts) < 3:
                    raise InstallError(
                        f"{whl.name}: member {info.filename!r} is not a file in a "
                        f"{data_dir}/<scheme>/ directory"
                    )
                kind, rest = rel.parts[1], PurePosixPath(*rel.parts[2:])
                if kind in ("purelib", "platlib"):
                    if is_test_suite(rest):
                        continue
                    dest = Path(site) / rest
                elif kind == "scripts":
                    dest, executable = Path("bin") / rest, True
                    if data.startswith(b"#!python"):
                        data = SHEBANG.encode() + b"\n" + data.split(b"\n", 1)[1]
                elif kind == "data":
                    dest = Path(rest)
                elif kind == "headers":
                    dest = Path("include/site/python3.13") / dist_info[0].split("-")[0] / rest
                else:
                    raise InstallError(f"{whl.name}: unknown .data directory {kind!r}")
            else:
                if is_test_suite(rel):
                    continue
                dest = Path(site) / rel
            target = out / dest
            claims.claim(dest, f"{whl.name} ({info.filename})")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            target.chmod(0o755 if executable else 0o644)
    return dist_info


def strip_shared_objects(root: Path) -> None:
    """Strip DWARF and .symtab from every ELF shared object below `root` (idempotent).

    Some wheels ship unstripped extension modules (uvloop's is 16 MB, 2 MB
    stripped); a volume never needs their debug information. RECORD is written
    afterwards, so it hashes the stripped bytes.
    """
    for path in sorted(root.rglob("*.so*")):
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if data[:4] == b"\x7fELF":
                stripped, _ = elf_strip.strip(data)
                if stripped is not data:
                    path.write_bytes(stripped)


def console_scripts(
    out: Path, site: str, dist_info: str, claims: Claims | None = None
) -> list[Path]:
    """Write launchers for the dist's console_scripts; returns their paths.

    A name must be one file name (a launcher never lands outside bin/), and a
    target a dotted Python name (it is pasted into the launcher's code).
    """
    claims = claims if claims is not None else Claims()
    ep = out / site / dist_info / "entry_points.txt"
    written = []
    if not ep.is_file():
        return written
    parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(ep.read_text())
    except (configparser.Error, UnicodeDecodeError) as err:
        raise InstallError(
            f"{dist_info}/entry_points.txt is not readable ({' '.join(str(err).split())})"
        ) from None
    if not parser.has_section("console_scripts"):
        return written
    for name, spec in sorted(parser.items("console_scripts")):
        module, _, attr = spec.strip().partition(":")
        attr = attr.split("[")[0].strip()
        module = module.strip()
        if not name or name in (".", "..") or "/" in name or "\0" in name or name != name.strip():
            raise InstallError(
                f"{dist_info}: console script name {name!r} is not a file name; "
                "a launcher would be written outside bin/"
            )
        if not DOTTED.fullmatch(module) or not DOTTED.fullmatch(attr):
            raise InstallError(
                f"{dist_info}: console script {name!r} = {spec.strip()!r} is not "
                "`module:attr` with dotted Python names"
            )
        claims.claim(Path("bin") / name, f"{dist_info} (console script {name})")
        target = out / "bin" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            LAUNCHER.format(shebang=SHEBANG, module=module, attr_root=attr.split(".")[0], call=attr)
        )
        target.chmod(0o755)
        written.append(target)
    return written


def write_record(out: Path, site: str, dist_info: str, files: list[Path]) -> None:
    """INSTALLER and RECORD for one distribution, paths relative to site-packages."""
    base = out / site
    (base / dist_info / "INSTALLER").write_text("krunner\n")
    record = base / dist_info / "RECORD"
    # The wheel's own RECORD is replaced below; it is listed once, without a hash.
    files = [f for f in files if f != record] + [base / dist_info / "INSTALLER"]
    rows = []
    for f in sorted(set(files)):
        data = f.read_bytes()
        rows.append((os.path.relpath(f, base), record_hash(data), str(len(data))))
    rows.append((f"{dist_info}/RECORD", "", ""))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    (base / dist_info / "RECORD").write_text(buf.getvalue())


def main(argv: list[str]) -> int:
    """Install every wheel of the lock into --out-dir, then byte-compile."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--lock", type=Path, required=True, help="the target's package lock")
    p.add_argument(
        "--wheel", type=Path, action="append", default=[], help="a wheel file (all of the lock's)"
    )
    p.add_argument(
        "--built-wheel",
        type=Path,
        action="append",
        default=[],
        help="a wheel this build made from source (the lock's built_from_source entries)",
    )
    p.add_argument(
        "--out-dir", type=Path, required=True, help="the directory to fill (volume root)"
    )
    p.add_argument(
        "--compiler", default="python3.13", help="the exec side's CPython 3.13, for .pyc only"
    )
    args = p.parse_args(argv)
    lock = json.loads(args.lock.read_text())
    site = f"lib/python{lock['python']}/site-packages"
    by_name = {w.name: w for w in args.wheel + args.built_wheel}
    built = {w.name for w in args.built_wheel}
    unlocked = sorted(built - {e["filename"] for e in lock["wheels"]})
    if unlocked:
        print(
            f"install_wheels: error: built wheels {unlocked} are not in {args.lock}",
            file=sys.stderr,
        )
        return 1
    try:
        installed: dict[str, list[Path]] = {}
        claims = Claims()
        for entry in lock["wheels"]:
            whl = by_name.get(entry["filename"])
            if whl is None:
                raise InstallError(
                    f"{entry['filename']} ({entry['name']} {entry['version']}) is in the lock "
                    "but was not given: the wheel set is incomplete"
                )
            if entry.get("built_from_source"):
                # Built by this build from a pinned sdist; the sdist's sha256 was checked at fetch.
                if whl.name not in built:
                    raise InstallError(
                        f"{whl.name} ({entry['name']}) is built from source by the lock, "
                        "but was given as a downloaded wheel (--wheel, not --built-wheel)"
                    )
            else:
                if whl.name in built:
                    raise InstallError(
                        f"{whl.name} was built here, but the lock pins a downloaded wheel for "
                        f"{entry['name']}: mark it built_from_source (tools/lock_packages)"
                    )
                actual = sha256_of(whl)
                if actual != entry["sha256"]:
                    raise InstallError(
                        f"{whl.name} has sha256 {actual}, the lock says {entry['sha256']}: "
                        "tampered or a different file"
                    )
            check_tags(whl.name, lock["platform"])
            before = {f for f in args.out_dir.rglob("*") if f.is_file()}
            (dist_info,) = install_wheel(whl, args.out_dir, site, claims)
            strip_shared_objects(args.out_dir / site)
            console_scripts(args.out_dir, site, dist_info, claims)
            installed[dist_info] = sorted(
                {f for f in args.out_dir.rglob("*") if f.is_file()} - before
            )
        failed = pyc.compile_tree(args.compiler, args.out_dir / site, f"{VOLUME}/{site}")
        for dist_info, files in installed.items():
            compiled = []
            for f in files:
                if f.suffix == ".py":
                    bytecode = f.parent / "__pycache__" / f"{f.stem}.cpython-313.pyc"
                    if bytecode.exists():
                        compiled.append(bytecode)
            write_record(args.out_dir, site, dist_info, files + compiled)
        if failed:
            print(
                f"install_wheels: not byte-compiled (syntax for other Pythons): {failed}",
                file=sys.stderr,
            )
    except (InstallError, pyc.PycError) as err:
        print(f"install_wheels: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
