"""Write the drop-in backend.ai-kernel-binary wheel: upstream's, with our binaries in place of theirs.

Reads upstream's published wheel (pinned by sha256) and writes one that differs
only where it must:
  ai/backend/runner/<stem>.<arch>.bin   for each --replace STEM=BINARY: our binary
                                        (checked: an ELF for <arch>, static, stripped)
  every other ai/backend/runner member  upstream's bytes and file mode, unchanged
  <dist>-<ver>+<label>.dist-info/       METADATA (Version with our local label, and a
                                        License-File per source), WHEEL (its tags
                                        those of the file name), upstream's other
                                        metadata files, licenses/, sboms/sbom.cdx.json
                                        and a recomputed RECORD
A --replace whose member is not in upstream's wheel is refused: the agent would
never read it. Zip entries are sorted (dist-info last, RECORD at the very end),
with a fixed timestamp and create_system 3, as //krunner/private:wheelmaker writes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

from elf_facts import elf_facts
from kernel_binary_bom import Source, built_components, sbom, upstream_component
from make_bom import BomError
from upstream_members import UnclassifiedMember
from wheelmaker import escape, write_wheel

RUNNER = "ai/backend/runner"


class DropInError(Exception):
    """The inputs cannot make a drop-in wheel; the message names the input and the fix."""


def read_upstream(path: Path, version: str) -> tuple[dict[str, tuple[bytes, int]], str, str]:
    """Upstream's members {name: (bytes, mode)}, its dist-info directory, and its METADATA text."""
    try:
        with zipfile.ZipFile(path) as zf:
            members = {
                i.filename: (zf.read(i), (i.external_attr >> 16) & 0o777 or 0o644)
                for i in zf.infolist()
                if not i.is_dir()
            }
    except (zipfile.BadZipFile, OSError) as err:
        raise DropInError(f"{path.name}: not a readable wheel ({err})") from None
    infos = sorted({n.split("/")[0] for n in members if n.split("/")[0].endswith(".dist-info")})
    if len(infos) != 1:
        raise DropInError(f"{path.name}: not a wheel (no single .dist-info directory)")
    meta = members[f"{infos[0]}/METADATA"][0].decode()
    found = Parser().parsestr(meta)["Version"]
    if found != version:
        raise DropInError(
            f"{path.name} is version {found}, but upstream_version says {version}: "
            "set upstream_version to the pinned wheel's version"
        )
    return members, infos[0], meta


def check_binary(stem: str, binary: Path, arch: str) -> bytes:
    """Our binary's bytes, if it is a static, stripped ELF executable for `arch`."""
    data = binary.read_bytes()
    facts = elf_facts(data)
    if facts is None:
        raise DropInError(f"replacement {stem}: {binary.name} is not a 64-bit ELF file")
    problems = [
        what
        for what, bad in (
            (f"built for {facts['machine']}, not {arch}", facts["machine"] != arch),
            ("dynamically linked (the agent mounts it into any image)", not facts["static"]),
            ("not stripped", not facts["stripped"]),
        )
        if bad
    ]
    if problems:
        raise DropInError(f"replacement {stem}: {binary.name} is " + ", ".join(problems))
    return data


def new_metadata(meta: str, version: str, license_files: list[str]) -> bytes:
    """Upstream's METADATA with our Version and a License-File line per license text."""
    head, sep, body = meta.partition("\n\n")
    lines = head.split("\n")
    if sum(1 for x in lines if x.startswith("Version: ")) != 1:
        raise DropInError("upstream METADATA has no single Version: line")
    lines = [f"Version: {version}" if x.startswith("Version: ") else x for x in lines]
    lines = [x for x in lines if not x.startswith("License-File: ")]
    lines += [f"License-File: {n}" for n in sorted(license_files)]
    return ("\n".join(lines) + sep + body).encode()


def build(args: argparse.Namespace) -> None:
    """Check every input, then write the wheel to args.out."""
    if not re.fullmatch(r"[a-z0-9]+(\.[a-z0-9]+)*", args.local_label):
        raise DropInError(
            f"local label {args.local_label!r} is not a PEP 440 local label (e.g. krunner.1)"
        )
    members, old_info, meta = read_upstream(args.upstream, args.upstream_version)
    upstream_meta = Parser().parsestr(meta)
    distribution = upstream_meta["Name"]
    version = f"{args.upstream_version}+{args.local_label}"
    dist_info = f"{escape(distribution)}-{version}.dist-info"
    plat = args.upstream.name[: -len(".whl")].rsplit("-", 1)[-1]
    tags = plat.split(".")
    want = f"{escape(distribution)}-{version}-py3-none-{plat}.whl"
    if args.out.name != want:
        raise DropInError(f"output {args.out.name} should be named {want}")

    replacements = {}
    for spec in args.replace:
        stem, _, binary = spec.partition("=")
        member = f"{RUNNER}/{stem}.{args.arch}.bin"
        if member not in members:
            ours = sorted(
                n.rsplit("/", 1)[-1][: -len(f".{args.arch}.bin")]
                for n in members
                if n.endswith(f".{args.arch}.bin")
            )
            raise DropInError(
                f"replacement {stem!r}: {member} is not a member of {args.upstream.name}; "
                f"replace one of its binaries: {', '.join(ours)}"
            )
        if member in replacements:
            raise DropInError(f"replacement {stem!r} is given twice")
        replacements[member] = (stem, check_binary(stem, Path(binary), args.arch))

    sources: dict[str, list[Source]] = {stem: [] for stem, _ in replacements.values()}
    programs = dict(spec.split("=", 1) for spec in args.program)
    for spec in args.source:
        name, stems, prov, text = spec.split("=", 3)
        for stem in stems.split(","):
            if stem not in sources:
                raise DropInError(f"source {name} is given for {stem!r}, which is not replaced")
            sources[stem].append(Source(name, Path(prov), Path(text)))
    lock = json.loads(args.sources_lock.read_text())
    spdx_ids = frozenset(json.loads(args.spdx_schema.read_text())["enum"])
    upstream = {
        "version": args.upstream_version,
        "filename": args.upstream.name,
        "sha256": hashlib.sha256(args.upstream.read_bytes()).hexdigest(),
        "license": upstream_meta.get("License") or "not declared",
    }

    files: dict[str, tuple[bytes, int]] = {}
    components, depends, licenses = [], {}, {}
    for name, (data, mode) in members.items():
        if name.startswith(old_info + "/"):
            continue
        if name in replacements:
            stem, ours = replacements[name]
            srcs = sorted(sources[stem], key=lambda s: (s.name != programs.get(stem), s.name))
            if not srcs or srcs[0].name != programs.get(stem):
                raise DropInError(
                    f"replacement {stem!r}: its program's source {programs.get(stem)!r} is not among its sources"
                )
            comps, libs = built_components(
                stem,
                name,
                ours,
                hashlib.sha256(data).hexdigest(),
                srcs,
                lock,
                spdx_ids,
                licenses,
            )
            components += comps
            depends[f"built:{stem}"] = libs
            files[name] = (ours, 0o755)
        else:
            components.append(upstream_component(name, data, upstream))
            files[name] = (data, mode)
    for rel, text in licenses.items():
        files[f"{dist_info}/{rel}"] = (text, 0o644)
    for name in ("namespace_packages.txt", "top_level.txt", "entry_points.txt"):
        if f"{old_info}/{name}" in members:
            files[f"{dist_info}/{name}"] = (members[f"{old_info}/{name}"][0], 0o644)
    files[f"{dist_info}/METADATA"] = (
        new_metadata(meta, version, [r.removeprefix("licenses/") for r in licenses]),
        0o644,
    )
    files[f"{dist_info}/WHEEL"] = (
        (
            "Wheel-Version: 1.0\nGenerator: krunner-kernel-binary-wheel 1\n"
            "Root-Is-Purelib: true\n" + "".join(f"Tag: py3-none-{t}\n" for t in tags)
        ).encode(),
        0o644,
    )
    files[f"{dist_info}/sboms/sbom.cdx.json"] = (
        sbom(distribution, version, args.arch, upstream, components, depends),
        0o644,
    )
    write_wheel(
        {n: data for n, (data, _) in files.items()},
        dist_info,
        args.out,
        modes={n: mode for n, (_, mode) in files.items()},
    )


def main(argv: list[str]) -> int:
    """Parse arguments (or an @params file) and write the wheel; errors are one line."""
    p = argparse.ArgumentParser(
        description=__doc__,
        fromfile_prefix_chars="@",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--upstream", type=Path, required=True, help="upstream's published wheel")
    p.add_argument("--upstream-version", required=True, help="its version, e.g. 26.9.6")
    p.add_argument("--local-label", required=True, help="our PEP 440 local label, e.g. krunner.1")
    p.add_argument("--arch", required=True, choices=["x86_64", "aarch64"], help="the wheel's arch")
    p.add_argument("--out", type=Path, required=True, help="the .whl to write")
    p.add_argument(
        "--replace",
        action="append",
        default=[],
        metavar="STEM=BINARY",
        help="put BINARY at ai/backend/runner/STEM.<arch>.bin (which upstream must have)",
    )
    p.add_argument(
        "--program",
        action="append",
        default=[],
        metavar="STEM=SOURCE",
        help="which source is the program of a replaced member (the others are built into it)",
    )
    p.add_argument(
        "--source",
        action="append",
        default=[],
        metavar="NAME=STEM[,STEM]=PROVENANCE=TEXT",
        help="a source archive a replaced member is built from, its PROVENANCE.json and license text",
    )
    p.add_argument(
        "--sources-lock", type=Path, required=True, help="//third_party:sources.lock.json"
    )
    p.add_argument(
        "--spdx-schema", type=Path, required=True, help="CycloneDX's spdx.schema.json (SPDX ids)"
    )
    args = p.parse_args(argv)
    try:
        build(args)
    except (DropInError, BomError, UnclassifiedMember) as err:
        print(f"kernel_binary_wheel: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
