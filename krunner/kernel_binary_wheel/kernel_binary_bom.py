"""The drop-in backend.ai-kernel-binary wheel's CycloneDX 1.5 SBOM and license texts.

Components:
  built here   one `application` per replaced member (named after its program, e.g.
               ttyd), with the program's source archive (hash, upstream URL,
               upstream or substitute, patches) from its PROVENANCE.json and the
               sources lock, the member's path and sha256, and the sha256 of
               upstream's file it replaces; each further source archive (a library
               built into it) is a `library` linked into it. Every source has its
               license text under dist-info/licenses/<member stem>/<source>.txt
               (`krunner:license_file`, relative to the dist-info directory).
               A program written in this repository (su-exec) has no archive:
               its component names the file (`krunner:source_path`) and its sha256.
  upstream's   one `file` per member kept byte-identical, with its sha256, its
               category (libbaihook, jail, all-smi, bssh, extractor image, scripts
               and data) and why it is not built here (upstream_members.py).
The helpers of //krunner/private:make_bom (license fields, provenance properties
and references) are reused, so both SBOMs describe an archive the same way.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from pathlib import Path

from make_bom import BomError, archive_component, licenses_field, prop, read_text
from upstream_members import classify

# PROVENANCE.json's `artifact` for a source of this repository (//krunner/licenses:written_here.bzl)
WRITTEN_HERE = "written here"


class Source:
    """One source archive of a replaced member: its component name, PROVENANCE.json and license text."""

    def __init__(self, name: str, provenance: Path, text: Path):
        self.name = name
        self.prov = json.loads(provenance.read_text())
        self.text = text


def built_components(
    stem: str,
    member: str,
    data: bytes,
    replaced_sha256: str,
    sources: list[Source],
    lock: dict,
    spdx_ids: frozenset[str],
    licenses: dict[str, bytes],
) -> tuple[list[dict], list[str]]:
    """The components of one replaced member (program first) and the refs of its libraries."""
    out, libs = [], []
    for i, src in enumerate(sources):
        entry = source_entry(stem, src.prov, lock)
        rel = f"licenses/{stem}/{src.name}.txt"
        licenses[rel] = read_text(src.text, src.name)
        patches = (
            [prop("patches", " ".join(src.prov["patches"]))] if src.prov.get("patches") else []
        )
        if i == 0:
            extra = [
                prop("built_here", "true"),
                prop("member", member),
                prop("member_sha256", hashlib.sha256(data).hexdigest()),
                prop("replaces_upstream_sha256", replaced_sha256),
            ]
            ref, kind = f"built:{stem}", "application"
        else:
            extra = [prop("built_here", "true"), prop("linked_into", stem)]
            ref, kind = f"built:{stem}:{src.name}", "library"
            libs.append(ref)
        lic = licenses_field(entry["license"], spdx_ids)
        if src.prov["artifact"] == WRITTEN_HERE:
            comp = written_here_component(ref, kind, src.name, lic, src.prov, rel, extra)
        else:
            comp = archive_component(
                ref, kind, src.name, entry["version"], lic, src.prov, rel, patches + extra
            )
        out.append(comp)
    return out, libs


def source_entry(stem: str, prov: dict, lock: dict) -> dict:
    """A source's version and license: its sources lock entry, or for a file of this
    repository (`written here`) its own provenance."""
    name = prov["name"]
    if prov["artifact"] == WRITTEN_HERE:
        entry = prov
    else:
        entry = lock["archives"].get(name)
        if entry is None:
            raise BomError(f"{stem}: source {name} is not in the sources lock")
    if not entry.get("license"):
        where = "its PROVENANCE.json" if entry is prov else "the sources lock"
        raise BomError(f"{stem}: source {name} has no `license` (SPDX expression) in {where}")
    return entry


def written_here_component(
    ref: str, kind: str, name: str, lic: list[dict], prov: dict, text: str, extra: list[dict]
) -> dict:
    """A component whose source is a file of this repository: its path and sha256, no archive."""
    return {
        "bom-ref": ref,
        "type": kind,
        "name": name,
        "version": prov["version"],
        "licenses": lic,
        "hashes": [{"alg": "SHA-256", "content": prov["sha256"]}],
        "properties": [
            prop("artifact", WRITTEN_HERE),
            prop("source_path", prov["path"]),
            prop("license_file", text),
        ]
        + extra,
    }


def upstream_component(member: str, data: bytes, upstream: dict) -> dict:
    """A member kept as upstream published it, and why it is not built here."""
    category, why = classify(member)
    return {
        "bom-ref": f"upstream:{member}",
        "type": "file",
        "name": member,
        "version": upstream["version"],
        "hashes": [{"alg": "SHA-256", "content": hashlib.sha256(data).hexdigest()}],
        "properties": [
            prop("artifact", "upstream"),
            prop("built_here", "false"),
            prop("category", category),
            prop("not_built_because", why),
            prop("from_wheel", upstream["filename"]),
            prop("from_wheel_sha256", upstream["sha256"]),
            prop("license_declared_by_upstream", upstream["license"]),
        ],
    }


def sbom(
    distribution: str,
    version: str,
    arch: str,
    upstream: dict,
    components: list[dict],
    depends: dict[str, list[str]],
) -> bytes:
    """The SBOM document: the wheel as subject, its components, the link graph."""
    serial = uuid.uuid5(uuid.NAMESPACE_URL, f"krunner:{distribution}:{version}:{arch}")
    top = sorted(
        c["bom-ref"]
        for c in components
        if not any(p["name"] == "krunner:linked_into" for p in c["properties"])
    )
    doc = {
        "bomFormat": "CycloneDX",
        "specVersion": "1.5",
        "serialNumber": f"urn:uuid:{serial}",
        "version": 1,
        "metadata": {
            "tools": {
                "components": [
                    {
                        "type": "application",
                        "name": "krunner kernel_binary_wheel",
                        "description": "//krunner/kernel_binary_wheel:kernel_binary_wheel (Bazel)",
                    }
                ]
            },
            "component": {
                "bom-ref": "kernel-binary-wheel",
                "type": "application",
                "name": distribution,
                "version": version,
                "description": f"the agent's in-container binaries for {arch}: upstream's "
                f"{upstream['version']} wheel with the members built here replaced",
                "properties": [
                    prop("arch", arch),
                    prop("upstream_wheel", upstream["filename"]),
                    prop("upstream_wheel_sha256", upstream["sha256"]),
                ],
            },
        },
        "components": components,
        "dependencies": [{"ref": "kernel-binary-wheel", "dependsOn": top}]
        + [{"ref": r, "dependsOn": sorted(d)} for r, d in sorted(depends.items())],
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()
