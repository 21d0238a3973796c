"""Make a platform wheel from an sdist's Python package and an extension module built here.

    build_wheel.py --sdist-root DIR --package zmq \\
        --extension TREE/_zmq.so=zmq/backend/cython/_zmq.cpython-313-x86_64-linux-gnu.so \\
        --license LICENSE.md --license licenses/LICENSE.tornado.txt \\
        --extra-license COPYING=licenses/libzmq/COPYING \\
        --tag cp313-cp313-manylinux_2_17_x86_64 --tag cp313-cp313-manylinux2014_x86_64 \\
        --out DIR

The wheel holds what the project's own build puts in it (pyzmq: `wheel.packages =
["zmq"]`, every file of the package) plus the extension module; METADATA is the
sdist's PKG-INFO with a License-File line for each license text, which goes to
dist-info/licenses/. The file is named from the first tag's interpreter and ABI
and all tags' platforms, as pip expects. Zip entries are sorted, with a fixed
timestamp and permissions (0755 for the extension, 0644 otherwise); RECORD is last.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import os
import re
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class WheelError(Exception):
    """The inputs do not make a consistent wheel; the message says why."""


def record_hash(data: bytes) -> str:
    """RECORD's hash form: sha256 in urlsafe base64 without padding."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def metadata(pkg_info: str, license_paths: list[str]) -> tuple[str, str, str]:
    """(name, version, METADATA text): PKG-INFO with its License-File lines replaced by ours."""
    meta = Parser().parsestr(pkg_info)
    name, version = meta["Name"], meta["Version"]
    if not name or not version:
        raise WheelError("PKG-INFO has no Name or Version")
    head, sep, body = pkg_info.partition("\n\n")
    lines = [line for line in head.splitlines() if not line.startswith("License-File:")]
    lines += [f"License-File: {p}" for p in license_paths]
    return name, version, "\n".join(lines) + "\n" + (sep + body if sep else "\n")


def wheel_name(name: str, version: str, tags: list[str]) -> str:
    """`<name>-<version>-<py>-<abi>-<plat1.plat2>.whl` for tags sharing one interpreter and ABI."""
    pys = {t.split("-")[0] for t in tags}
    abis = {t.split("-")[1] for t in tags}
    if len(pys) != 1 or len(abis) != 1:
        raise WheelError(f"tags {tags} mix interpreters or ABIs")
    plats = ".".join(t.split("-", 2)[2] for t in tags)
    return f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}-{pys.pop()}-{abis.pop()}-{plats}.whl"


def collect(args: argparse.Namespace) -> tuple[str, dict[str, tuple[bytes, bool]]]:
    """(wheel file name, {archive path: (bytes, executable)}) without RECORD."""
    root = Path(os.path.realpath(args.sdist_root))
    lic_paths = list(args.license) + [spec.split("=", 1)[1] for spec in args.extra_license]
    name, version, meta_text = metadata((root / "PKG-INFO").read_text(encoding="utf-8"), lic_paths)
    dist_info = f"{re.sub(r'[-_.]+', '_', name).lower()}-{version}.dist-info"
    files: dict[str, tuple[bytes, bool]] = {}
    pkg = root / args.package
    if not pkg.is_dir():
        raise WheelError(f"the sdist has no package directory {args.package}/")
    for dirpath, dirnames, filenames in os.walk(pkg):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in filenames:
            path = Path(dirpath) / f
            if f.endswith((".pyc", ".pyo")):
                continue
            files[path.relative_to(root).as_posix()] = (path.read_bytes(), False)
    for spec in args.extension:
        src, dest = spec.split("=", 1)
        if not dest.startswith(args.package + "/"):
            raise WheelError(f"extension {dest} is outside the package {args.package}/")
        files[dest] = (Path(src).read_bytes(), True)
    for rel in args.license:
        files[f"{dist_info}/licenses/{rel}"] = ((root / rel).read_bytes(), False)
    for spec in args.extra_license:
        src, dest = spec.split("=", 1)
        files[f"{dist_info}/licenses/{dest}"] = (Path(src).read_bytes(), False)
    files[f"{dist_info}/METADATA"] = (meta_text.encode(), False)
    wheel = ["Wheel-Version: 1.0", "Generator: krunner build_wheel", "Root-Is-Purelib: false"]
    wheel += [f"Tag: {t}" for t in args.tag]
    files[f"{dist_info}/WHEEL"] = (("\n".join(wheel) + "\n").encode(), False)
    files[f"{dist_info}/top_level.txt"] = (f"{args.package}\n".encode(), False)
    return wheel_name(name, version, args.tag), files


def write(path: Path, files: dict[str, tuple[bytes, bool]]) -> None:
    """A deterministic zip: sorted entries (dist-info last), RECORD at the end."""
    dist_info = next(n.split("/")[0] for n in files if n.endswith(".dist-info/METADATA"))
    order = sorted(files, key=lambda n: (n.startswith(dist_info + "/"), n))
    record = [f"{n},{record_hash(files[n][0])},{len(files[n][0])}" for n in order]
    record.append(f"{dist_info}/RECORD,,")
    entries = [(n, *files[n]) for n in order] + [
        (f"{dist_info}/RECORD", ("\n".join(record) + "\n").encode(), False)
    ]
    with zipfile.ZipFile(path, "w") as zf:
        for name, data, executable in entries:
            info = zipfile.ZipInfo(name, ZIP_EPOCH)
            info.create_system = 3
            info.external_attr = (0o100755 if executable else 0o100644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, data, compresslevel=9)


def main(argv: list[str]) -> int:
    """Parse arguments, collect the members, write <out>/<wheel name>."""
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sdist-root", required=True, help="the extracted sdist (has PKG-INFO)")
    p.add_argument(
        "--package", required=True, help="the top-level package directory the wheel ships"
    )
    p.add_argument(
        "--extension",
        action="append",
        default=[],
        metavar="FILE=PATH",
        help="a built extension module and its path in the wheel",
    )
    p.add_argument(
        "--license",
        action="append",
        default=[],
        metavar="REL",
        help="a license text of the sdist (relative path), kept at that path under dist-info/licenses/",
    )
    p.add_argument(
        "--extra-license",
        action="append",
        default=[],
        metavar="FILE=REL",
        help="a license text of something linked in (libzmq), put at REL under dist-info/licenses/",
    )
    p.add_argument("--tag", action="append", required=True, help="a wheel tag, py-abi-platform")
    p.add_argument(
        "--out", type=Path, required=True, help="the wheel file to write (named as --expect-name)"
    )
    p.add_argument(
        "--expect-name", required=True, help="the file name the build declared; must match the tags"
    )
    args = p.parse_args(argv)
    try:
        name, files = collect(args)
        if name != args.expect_name:
            raise WheelError(
                f"the wheel would be {name}, but the build declared {args.expect_name}"
            )
        write(args.out, files)
    except (WheelError, OSError) as err:
        print(f"build_wheel: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
