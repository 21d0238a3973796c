"""Write a krunner plugin wheel: the files the Backend.AI agent reads, bit-for-bit reproducible.

Layout (for package `static_gnu`, distro key `static-gnu`, arch `x86_64`):
  ai/backend/krunner/static_gnu/__init__.py        __version__
  ai/backend/krunner/static_gnu/plugin.py          async def init(config)
  ai/backend/krunner/static_gnu/versions.txt       the distro key
  ai/backend/krunner/static_gnu/krunner-version.static-gnu.txt   the volume version (int)
  ai/backend/krunner/static_gnu/krunner-python.static-gnu.txt    e.g. 3.13
  ai/backend/krunner/static_gnu/krunner-env.static-gnu.x86_64.tar.xz
  <dist>-<ver>.dist-info/{METADATA,WHEEL,entry_points.txt,top_level.txt,licenses/**,sboms/sbom.cdx.json,RECORD}
`ai`, `ai.backend` and `ai.backend.krunner` stay namespace packages (no
__init__.py), as in upstream's wheels, so several krunner wheels coexist.

Zip entries are sorted (dist-info last, RECORD at the very end) with a fixed
timestamp, fixed permissions and create_system 3 (Unix).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import sys
import zipfile
from pathlib import Path

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


class WheelError(Exception):
    """The wheel's inputs are inconsistent; the message says which."""


def escape(name: str) -> str:
    """A distribution name as it appears in file names (PEP 427 / PEP 503)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def record_hash(data: bytes) -> str:
    """RECORD's hash form: sha256 in urlsafe base64 without padding."""
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def wheel_files(args: argparse.Namespace) -> dict[str, bytes | Path]:
    """Every member of the wheel except RECORD, by archive path."""
    if args.distro_key in ("",) or not re.fullmatch(r"[a-z0-9-]+", args.distro_key):
        raise WheelError(f"bad distro key {args.distro_key!r}")
    if args.package != args.distro_key.replace("-", "_"):
        # The agent's get_krunner_info reads ai.backend.krunner.<key with - as _>; any
        # other package makes every kernel start fall over (ModuleNotFoundError).
        raise WheelError(
            f"package {args.package!r} must be the distro key with '-' as '_' "
            f"({args.distro_key.replace('-', '_')!r}): the agent reads that package"
        )
    if not args.volume.name.endswith(".tar.xz"):
        raise WheelError(
            f"{args.volume} is not a .tar.xz: the agent reads only krunner-env.*.tar.xz"
        )
    mac_arch = {"x86_64": "x86_64", "aarch64": "arm64"}[args.arch]
    wrong = [
        t
        for t in args.platform_tag
        if not (t.endswith("_" + args.arch) or t.endswith("_" + mac_arch))
    ]
    if wrong:
        raise WheelError(f"platform tags {wrong} do not match the volume's arch {args.arch}")
    pkg = f"ai/backend/krunner/{args.package}"
    key = args.distro_key
    dist_info = f"{escape(args.distribution)}-{args.version}.dist-info"
    files: dict[str, bytes | Path] = {
        f"{pkg}/__init__.py": f'__version__ = "{args.version}"\n'.encode(),
        f"{pkg}/plugin.py": args.plugin.read_bytes(),
        f"{pkg}/versions.txt": f"{key}\n".encode(),
        f"{pkg}/krunner-version.{key}.txt": f"{int(args.volume_version)}\n".encode(),
        f"{pkg}/krunner-python.{key}.txt": f"{args.python_version}\n".encode(),
        f"{pkg}/krunner-env.{key}.{args.arch}.tar.xz": args.volume,
    }
    tags = [f"py3-none-{t}" for t in args.platform_tag]
    files[f"{dist_info}/WHEEL"] = (
        "Wheel-Version: 1.0\nGenerator: krunner-wheelmaker 1\n"
        "Root-Is-Purelib: false\n" + "".join(f"Tag: {t}\n" for t in tags)
    ).encode()
    license_names = []
    for spec in args.license:
        src, _, name = spec.partition("=")
        files[f"{dist_info}/licenses/{name}"] = Path(src)
        license_names.append(name)
    if args.bom_dir:
        lic_root = args.bom_dir / "licenses"
        sbom = args.bom_dir / "sbom.cdx.json"
        if not lic_root.is_dir() or not sbom.is_file():
            raise WheelError(
                f"{args.bom_dir} is not a krunner_bom directory (licenses/ and sbom.cdx.json)"
            )
        for f in sorted(p for p in lic_root.rglob("*") if p.is_file()):
            name = f.relative_to(lic_root).as_posix()
            if f"{dist_info}/licenses/{name}" in files:
                raise WheelError(f"license file {name} given twice")
            files[f"{dist_info}/licenses/{name}"] = f
            license_names.append(name)
        files[f"{dist_info}/sboms/sbom.cdx.json"] = sbom
    files[f"{dist_info}/METADATA"] = (
        "Metadata-Version: 2.4\n"
        f"Name: {args.distribution}\n"
        f"Version: {args.version}\n"
        f"Summary: {args.summary}\n"
        "Requires-Python: >=3.9\n"
        + "".join(f"License-File: {n}\n" for n in sorted(license_names))
        + "Description-Content-Type: text/markdown\n\n"
        f"{args.summary}. Volume {key} v{args.volume_version} for {args.arch}, CPython "
        f"{args.python_version}; built by Bazel (krunner).\n"
    ).encode()
    files[f"{dist_info}/entry_points.txt"] = (
        f"[backendai_krunner_v10]\n{args.package} = ai.backend.krunner.{args.package}.plugin\n"
    ).encode()
    files[f"{dist_info}/top_level.txt"] = b"ai\n"
    return files


def wheel_name(args: argparse.Namespace) -> str:
    """The PEP 427 file name, with the compound platform tag."""
    return f"{escape(args.distribution)}-{args.version}-py3-none-{'.'.join(args.platform_tag)}.whl"


def write_wheel(
    files: dict[str, bytes | Path], dist_info: str, out: Path, modes: dict[str, int] | None = None
) -> None:
    """Write `files` plus RECORD into the zip at `out`, deterministically: payload
    sorted before dist-info, fixed timestamps, each member's mode from `modes` (0644
    when not named). Nothing is left at `out` if writing fails."""

    def order(name: str) -> tuple[int, bytes]:
        return (1 if name.startswith(dist_info + "/") else 0, name.encode())

    modes = modes or {}
    record = []
    tmp = out.with_name(out.name + ".partial")
    try:
        with zipfile.ZipFile(tmp, "w") as zf:
            for name in sorted(files, key=order):
                source = files[name]
                data = source.read_bytes() if isinstance(source, Path) else source
                info = zipfile.ZipInfo(name, date_time=ZIP_EPOCH)
                info.create_system = 3
                info.external_attr = (0o100000 | modes.get(name, 0o644)) << 16
                # A volume is already xz: deflating it again only costs time.
                info.compress_type = (
                    zipfile.ZIP_STORED if name.endswith(".tar.xz") else zipfile.ZIP_DEFLATED
                )
                zf.writestr(info, data)
                record.append(f"{name},{record_hash(data)},{len(data)}")
            record.append(f"{dist_info}/RECORD,,")
            info = zipfile.ZipInfo(f"{dist_info}/RECORD", date_time=ZIP_EPOCH)
            info.create_system, info.external_attr = 3, (0o100644 << 16)
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, "\n".join(record) + "\n")
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)


def main(argv: list[str]) -> int:
    """Parse arguments (or an @params file) and write the wheel."""
    p = argparse.ArgumentParser(
        description=__doc__,
        fromfile_prefix_chars="@",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", type=Path, required=True, help="the .whl to write")
    p.add_argument("--distribution", required=True, help="e.g. backend.ai-krunner-static-gnu")
    p.add_argument("--version", required=True, help="the wheel's version")
    p.add_argument("--summary", required=True, help="one-line summary for METADATA")
    p.add_argument("--package", required=True, help="the plugin subpackage, e.g. static_gnu")
    p.add_argument("--distro-key", required=True, help="the agent's distro key, e.g. static-gnu")
    p.add_argument(
        "--arch", required=True, choices=["x86_64", "aarch64"], help="volume architecture"
    )
    p.add_argument("--volume", type=Path, required=True, help="the volume .tar.xz")
    p.add_argument(
        "--plugin", type=Path, required=True, help="the plugin module (async def init(config))"
    )
    p.add_argument("--volume-version", type=int, required=True, help="the integer volume version")
    p.add_argument("--python-version", required=True, help="X.Y of the volume's CPython")
    p.add_argument("--platform-tag", action="append", required=True, help="platform tags, in order")
    p.add_argument(
        "--license",
        action="append",
        default=[],
        metavar="SRC=NAME",
        help="a license file, stored as dist-info/licenses/NAME",
    )
    p.add_argument(
        "--bom-dir",
        type=Path,
        help="a krunner_bom directory: licenses/** into dist-info/licenses/, sbom.cdx.json into dist-info/sboms/",
    )
    args = p.parse_args(argv)
    try:
        if args.out.name != wheel_name(args):
            raise WheelError(f"output {args.out.name} should be named {wheel_name(args)}")
        files = wheel_files(args)
        write_wheel(files, f"{escape(args.distribution)}-{args.version}.dist-info", args.out)
    except WheelError as err:
        print(f"wheelmaker: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
