"""Collect every component's license text and write the volume's CycloneDX 1.5 SBOM.

The components of a volume, and where their facts come from:
  CPython           the runtime's provenance (built from source, or pbs) and
                    the sources lock entry; text: the runtime's lib/pythonX.Y/LICENSE.txt
  its libraries     `components` of that lock entry; texts:
                    @krunner_license_texts (Debian's copyright files of the same projects)
  ttyd and its C    each archive's PROVENANCE.json and lock entry; texts: the LICENSE
  libraries         files of the archives themselves
  Python packages   the target's package lock (name, version, wheel file, sha256) and
                    each installed dist-info (license expression, license files); a
                    package built here from its sdist (`built_from_source`) carries the
                    sdist's sha256, and each library linked into it (libzmq) is a
                    component of its own, from its archive's PROVENANCE.json and lock
                    entry, with the texts the built wheel ships under licenses/<name>/

Output directory:
  licenses/runtime/<name>.txt, licenses/ttyd/<name>.txt,
  licenses/wheels/<name>-<version>/<license files as the wheel ships them>
  sbom.cdx.json

Every component must have a license text and every installed distribution a lock
entry (and the reverse); otherwise the build fails here, naming the component.
The output depends only on the inputs: no timestamps, sorted keys, a serial
number derived from the wheel's name, version and arch.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import uuid
from email.parser import Parser
from pathlib import Path

SPEC = "1.5"
# SPDX ids and license-expression operators; anything else is a license name.
_LICENSE_FILE_NAMES = re.compile(r"^(LICEN[CS]E|COPYING|NOTICE|AUTHORS|COPYRIGHT)", re.I)


class BomError(Exception):
    """A component lacks a license text, a lock entry or a fact; the message names it."""


def normalize(name: str) -> str:
    """A distribution name in PEP 503 normal form."""
    return re.sub(r"[-_.]+", "-", name).lower()


def licenses_field(expr: str, spdx_ids: frozenset[str]) -> list[dict]:
    """CycloneDX `licenses`: an SPDX id (one of `spdx_ids`), an SPDX expression, or else a free-form name."""
    expr = " ".join(expr.split())
    tokens = expr.replace("(", " ( ").replace(")", " ) ").split()
    if not tokens:
        raise BomError("empty license")
    known = [
        t in spdx_ids or t.startswith("LicenseRef-") or t in ("(", ")", "AND", "OR", "WITH")
        for t in tokens
    ]
    if len(tokens) == 1 and tokens[0] in spdx_ids:
        return [{"license": {"id": tokens[0]}}]
    if all(known):
        return [{"expression": expr}]
    return [{"license": {"name": expr}}]


def prop(name: str, value: str) -> dict:
    """A CycloneDX property in the krunner namespace."""
    return {"name": f"krunner:{name}", "value": value}


def origin_props(prov: dict) -> list[dict]:
    """Properties saying whether the upstream artifact or a substitute was used, and which."""
    props = [prop("artifact", prov["artifact"])]
    if prov["artifact"] != "upstream":
        props.append(prop("substitute", prov.get("substitute", "")))
        props.append(prop("substitute_sha256", prov["sha256"]))
        if prov.get("differs_from_upstream"):
            props.append(prop("differs_from_upstream", prov["differs_from_upstream"]))
    props.append(prop("upstream_sha256", prov["upstream_sha256"]))
    return props


def distribution_refs(prov: dict) -> list[dict]:
    """Where the artifact comes from: the upstream URL, and the substitute the build used instead."""
    refs = [
        {"type": "distribution", "url": prov["upstream_urls"][0], "comment": "upstream artifact"}
    ]
    sub = prov.get("substitute", "")
    if prov["artifact"] != "upstream":
        m = re.match(r"PyPI (\S+)==(\S+) (\S+)$", sub)
        url = f"pkg:pypi/{normalize(m[1])}@{m[2]}?file_name={m[3]}" if m else sub
        refs.append(
            {
                "type": "distribution",
                "url": url,
                "comment": "offline substitute used by this build, from the configured "
                + ("package index" if m else "Debian mirror"),
            }
        )
    return refs


def archive_component(
    ref: str,
    kind: str,
    name: str,
    version: str,
    licenses: list[dict],
    prov: dict,
    text: str,
    extra: list[dict] | None = None,
) -> dict:
    """A component that came from a pinned archive (upstream or substitute)."""
    return {
        "bom-ref": ref,
        "type": kind,
        "name": name,
        "version": version,
        "licenses": licenses,
        "hashes": [{"alg": "SHA-256", "content": prov["sha256"]}],
        "externalReferences": distribution_refs(prov),
        "properties": origin_props(prov) + [prop("license_file", text)] + (extra or []),
    }


def read_text(path: Path, what: str) -> bytes:
    """The bytes of a license text, or a BomError naming the component."""
    if not path.is_file() or not path.read_bytes().strip():
        raise BomError(f"{what}: no license text at {path}")
    return path.read_bytes()


class Bom:
    """Accumulates components, dependencies and license files."""

    def __init__(self, out: Path, spdx_ids: frozenset[str]):
        self.out = out
        self.spdx_ids = spdx_ids
        self.components: list[dict] = []
        self.depends: dict[str, list[str]] = {}

    def text(self, rel: str, data: bytes) -> str:
        """Write a license text at licenses/<rel>; returns its volume path."""
        dest = self.out / "licenses" / rel
        if dest.exists():
            raise BomError(f"two license texts would both be licenses/{rel}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(data)
        return f"licenses/{rel}"

    def licenses(self, expr: str) -> list[dict]:
        """The CycloneDX `licenses` field for a license expression or name."""
        return licenses_field(expr, self.spdx_ids)

    def add(self, component: dict, parent: str | None = None) -> None:
        """Add a component, linked into `parent` (a bom-ref) if given."""
        self.components.append(component)
        if parent:
            self.depends.setdefault(parent, []).append(component["bom-ref"])


def add_runtime(bom: Bom, args: argparse.Namespace, lock: dict) -> str:
    """CPython and the libraries its build links in."""
    prov = json.loads(args.runtime_provenance.read_text())
    entry = lock["archives"].get(prov["name"])
    if entry is None:
        raise BomError(f"runtime {prov['name']} is not in {args.sources_lock}")
    # Built from source: the lock's components are what the build links in, each
    # with its own archive's provenance (bundled ones come with CPython's).
    from_source = bool(prov.get("built_from_source"))
    facts = entry
    if "components" not in facts:
        raise BomError(
            f"{args.sources_lock}: {prov['name']} "
            "lists no `components`: add the libraries this CPython build links in"
        )
    lic = args.runtime / f"lib/python{args.python}/LICENSE.txt"
    text = bom.text("runtime/CPython.txt", read_text(lic, "CPython"))
    extra = [prop("built_from_source", "true")] if from_source else []
    ref = "runtime:cpython"
    bom.add(
        archive_component(
            ref,
            "application",
            "CPython",
            prov["python_version"],
            bom.licenses(entry["license"]),
            prov,
            text,
            extra,
        )
    )
    bom.depends.setdefault(ref, [])
    texts = {p.name: p for p in args.runtime_text}
    for comp in facts["components"]:
        src = texts.get(f"LICENSE.{comp['text']}.txt")
        if src is None:
            raise BomError(
                f"{comp['name']} (linked into CPython) names license text {comp['text']!r}, "
                "which krunner/licenses/debian_texts.lock.json does not provide"
            )
        rel = bom.text(f"runtime/{comp['name']}.txt", read_text(src, comp["name"]))
        comp_prov = prov
        if from_source and not comp.get("bundled"):
            comp_prov = prov["components"].get(comp["name"])
            if comp_prov is None:
                raise BomError(
                    f"{comp['name']} is a component of {prov['name']} in {args.sources_lock}, "
                    "but the runtime was not built with it (no provenance)"
                )
        bom.add(
            archive_component(
                f"runtime:{comp['name']}",
                "library",
                comp["name"],
                comp["version"],
                bom.licenses(comp["license"]),
                comp_prov,
                rel,
                [prop("linked_into", "CPython")]
                + ([prop("bundled", comp["bundled"])] if comp.get("bundled") else []),
            ),
            ref,
        )
    return ref


def add_archives(bom: Bom, args: argparse.Namespace, lock: dict) -> None:
    """ttyd (the application) and the C libraries built into it."""
    app = None
    for spec in args.archive:
        name, prov_path, text_path = spec.split("=", 2)
        prov = json.loads(Path(prov_path).read_text())
        entry = lock["archives"].get(prov["name"])
        if entry is None:
            raise BomError(f"{name}: archive {prov['name']} is not in {args.sources_lock}")
        if not entry.get("license"):
            raise BomError(
                f"{args.sources_lock}: {prov['name']} has no `license` (its SPDX expression)"
            )
        license_expr = entry["license"]
        rel = bom.text(f"ttyd/{name}.txt", read_text(Path(text_path), name))
        extra = [prop("patches", " ".join(prov["patches"]))] if prov.get("patches") else []
        if app is None:
            app = f"ttyd:{name}"
            bom.add(
                archive_component(
                    app,
                    "application",
                    name,
                    entry["version"],
                    bom.licenses(license_expr),
                    prov,
                    rel,
                    extra + [prop("path", "bin/ttyd")],
                )
            )
            bom.depends.setdefault(app, [])
        else:
            bom.add(
                archive_component(
                    f"ttyd:{name}",
                    "library",
                    name,
                    entry["version"],
                    bom.licenses(license_expr),
                    prov,
                    rel,
                    extra + [prop("linked_into", "ttyd")],
                ),
                app,
            )


def dist_license(meta) -> str:
    """A distribution's declared license: License-Expression, else License, else classifiers."""
    if meta.get("License-Expression"):
        return meta["License-Expression"]
    lic = (meta.get("License") or "").strip()
    if lic and "\n" not in lic and len(lic) <= 80:
        return lic
    names = [
        c.split("::")[-1].strip()
        for c in meta.get_all("Classifier") or []
        if c.startswith("License ::")
    ]
    if names:
        return "; ".join(names)
    raise BomError(
        f"{meta['Name']} {meta['Version']}: METADATA declares no license "
        "(no License-Expression, License or license classifier)"
    )


def license_files(dist_info: Path, meta) -> list[Path]:
    """The license files a distribution ships: its License-File entries, else the usual names."""
    found = []
    for entry in meta.get_all("License-File") or []:
        for cand in (
            dist_info / "licenses" / entry,
            dist_info / entry,
            dist_info / Path(entry).name,
        ):
            if cand.is_file():
                found.append(cand)
                break
    if not found:
        lic_dir = dist_info / "licenses"
        found = sorted(p for p in lic_dir.rglob("*") if p.is_file()) if lic_dir.is_dir() else []
        found += sorted(
            p for p in dist_info.iterdir() if p.is_file() and _LICENSE_FILE_NAMES.match(p.name)
        )
    return sorted(set(found))


def pypi_component(
    bom: Bom,
    key: str,
    w: dict,
    meta,
    folder: str,
    file_name: str,
    sha256: str,
    comment: str,
    properties: list[dict],
) -> dict:
    """The component of one installed distribution, from the PyPI file `file_name` (its sha256 checked)."""
    return {
        "bom-ref": f"wheel:{key}",
        "type": "library",
        "name": w["name"],
        "version": w["version"],
        "licenses": bom.licenses(dist_license(meta)),
        "hashes": [{"alg": "SHA-256", "content": sha256}],
        "purl": f"pkg:pypi/{key}@{w['version']}?file_name={file_name}",
        "externalReferences": [
            {
                "type": "distribution",
                "url": f"pkg:pypi/{key}@{w['version']}",
                "comment": f"{comment} from the package index the build machine's pip is "
                "configured with; the sha256 is what was checked"
                + (
                    f". The wheel {w['filename']} was built from it here"
                    if file_name != w["filename"]
                    else ""
                ),
            }
        ],
        "properties": [
            prop("artifact", "upstream"),
            *properties,
            prop("license_file", f"licenses/{folder}/"),
            prop("requested", "true" if w.get("requested") else "false"),
        ],
    }


def add_built_package(
    bom: Bom,
    args: argparse.Namespace,
    key: str,
    w: dict,
    meta,
    folder: str,
    written: list[str],
    lock_sources: dict,
) -> None:
    """A distribution built here from its sdist, and each library linked into it."""
    built = w["built_from_source"]
    ref = f"wheel:{key}"
    bom.add(
        pypi_component(
            bom,
            key,
            w,
            meta,
            folder,
            built["sdist"],
            built["sdist_sha256"],
            f"{built['sdist']} (the sdist)",
            [
                prop("built_from_source", "true"),
                prop("sdist", built["sdist"]),
                prop("wheel", w["filename"]),
            ],
        )
    )
    linked = dict(spec.split("=", 1) for spec in args.linked)
    for name in built.get("links", []):
        if name not in linked:
            raise BomError(
                f"{w['name']} links {name} (package lock), but no --linked {name}=PROVENANCE was given"
            )
        prov = json.loads(Path(linked[name]).read_text())
        entry = lock_sources["archives"].get(prov["name"])
        if entry is None:
            raise BomError(f"{name}: archive {prov['name']} is not in {args.sources_lock}")
        folder_of_texts = f"licenses/{folder}/licenses/{name}/"
        if not any(t.startswith(folder_of_texts) for t in written):
            raise BomError(
                f"{w['filename']} ships no license text of {name} (dist-info/licenses/licenses/{name}/)"
            )
        bom.add(
            archive_component(
                f"{ref}:{name}",
                "library",
                name,
                entry["version"],
                bom.licenses(entry["license"]),
                prov,
                folder_of_texts,
                [prop("linked_into", w["name"]), prop("built_from_source", "true")],
            ),
            ref,
        )


def add_packages(bom: Bom, args: argparse.Namespace, lock_sources: dict) -> None:
    """Every installed distribution, matched one to one with the package lock."""
    lock = json.loads(args.packages_lock.read_text())
    wheels = {normalize(w["name"]): w for w in lock["wheels"]}
    site = args.site_packages
    installed = {}
    for di in sorted(site.glob("*.dist-info")):
        meta = Parser().parsestr((di / "METADATA").read_text(encoding="utf-8", errors="replace"))
        installed[normalize(meta["Name"])] = (di, meta)
    missing = sorted(set(wheels) - set(installed))
    unlocked = sorted(set(installed) - set(wheels))
    if missing or unlocked:
        raise BomError(
            f"installed distributions and {args.packages_lock} disagree: "
            f"locked but not installed {missing}, installed but not locked {unlocked}"
        )
    for key in sorted(installed):
        di, meta = installed[key]
        w = wheels[key]
        if meta["Version"] != w["version"]:
            raise BomError(f"{w['name']}: installed {meta['Version']}, locked {w['version']}")
        files = license_files(di, meta)
        if not files:
            raise BomError(
                f"{w['name']} {w['version']} ships no license file in {di.name}: pin a version "
                "whose wheel carries its license (License-File in METADATA)"
            )
        folder = f"wheels/{w['name']}-{w['version']}"
        written = []
        for f in files:
            rel = f.relative_to(di / "licenses") if (di / "licenses") in f.parents else Path(f.name)
            written.append(bom.text(f"{folder}/{rel.as_posix()}", f.read_bytes()))
        built = w.get("built_from_source")
        if built:
            add_built_package(bom, args, key, w, meta, folder, written, lock_sources)
            continue
        bom.add(
            pypi_component(bom, key, w, meta, folder, w["filename"], w["sha256"], w["filename"], [])
        )


def write_sbom(bom: Bom, args: argparse.Namespace) -> None:
    """sbom.cdx.json: metadata for the wheel, the components, the link graph."""
    serial = uuid.uuid5(
        uuid.NAMESPACE_URL, f"krunner:{args.distribution}:{args.version}:{args.arch}"
    )
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": SPEC,
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "name": "krunner make_bom",
                        "description": "//krunner/private:make_bom (Bazel)",
                    }
                ]
            },
            "component": {
                "bom-ref": "krunner-volume",
                "type": "application",
                "name": args.distribution,
                "version": args.version,
                "description": f"krunner volume {args.distro_key} v{args.volume_version} for {args.arch} "
                "(/opt/backend.ai)",
                "properties": [
                    prop("distro_key", args.distro_key),
                    prop("arch", args.arch),
                    prop("volume_version", str(args.volume_version)),
                ],
            },
        },
        "components": bom.components,
        "dependencies": [
            {
                "ref": "krunner-volume",
                "dependsOn": sorted(
                    c["bom-ref"]
                    for c in bom.components
                    if not any(p["name"] == "krunner:linked_into" for p in c["properties"])
                ),
            }
        ]
        + [{"ref": ref, "dependsOn": sorted(deps)} for ref, deps in sorted(bom.depends.items())],
    }
    (bom.out / "sbom.cdx.json").write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")


def main(argv: list[str]) -> int:
    """Parse arguments (or an @params file), collect the texts, write the SBOM."""
    p = argparse.ArgumentParser(
        description=__doc__,
        fromfile_prefix_chars="@",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out-dir", type=Path, required=True, help="the directory to fill")
    p.add_argument("--distribution", required=True, help="the wheel's distribution name")
    p.add_argument("--version", required=True, help="the wheel's version")
    p.add_argument("--distro-key", required=True, help="the agent's distro key")
    p.add_argument("--arch", required=True, help="the volume's architecture")
    p.add_argument("--volume-version", type=int, required=True, help="the volume version")
    p.add_argument("--python", required=True, help="X.Y of the runtime")
    p.add_argument(
        "--sources-lock", type=Path, required=True, help="//third_party:sources.lock.json"
    )
    p.add_argument("--runtime", type=Path, required=True, help="the krunner_runtime directory")
    p.add_argument(
        "--runtime-provenance", type=Path, required=True, help="the runtime's provenance JSON"
    )
    p.add_argument(
        "--runtime-text",
        type=Path,
        action="append",
        default=[],
        help="a LICENSE.<key>.txt from @krunner_license_texts",
    )
    p.add_argument(
        "--archive",
        action="append",
        default=[],
        metavar="NAME=PROVENANCE=TEXT",
        help="ttyd first, then each C library built into it",
    )
    p.add_argument(
        "--linked",
        action="append",
        default=[],
        metavar="NAME=PROVENANCE",
        help="a library linked into a package built from source (libzmq), and its archive's PROVENANCE.json",
    )
    p.add_argument("--packages-lock", type=Path, required=True, help="the target's package lock")
    p.add_argument(
        "--site-packages", type=Path, required=True, help="the installed site-packages directory"
    )
    p.add_argument(
        "--spdx-schema",
        type=Path,
        required=True,
        help="CycloneDX's spdx.schema.json: the SPDX license ids an `id` may take",
    )
    args = p.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    bom = Bom(args.out_dir, frozenset(json.loads(args.spdx_schema.read_text())["enum"]))
    try:
        lock = json.loads(args.sources_lock.read_text())
        add_runtime(bom, args, lock)
        add_archives(bom, args, lock)
        add_packages(bom, args, lock)
        write_sbom(bom, args)
    except BomError as err:
        print(f"make_bom: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
