"""The drop-in backend.ai-kernel-binary wheel differs from upstream's only where it must.

Run once per arch (WHEEL, UPSTREAM, ARCH and REPLACED, the wheel's replacement
map, from the BUILD file): every
member but the replaced ones is byte-identical to upstream's, with its file mode;
each replaced member is the binary built here; RECORD lists every member with the
right hash and size; METADATA and WHEEL carry the local version and the file
name's tags; the SBOM is valid CycloneDX 1.5 and names every member, built here
(with its sources) or upstream's (with its category).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import fastjsonschema
import pytest

RUNFILES = Path(os.environ["TEST_SRCDIR"])
WHEEL = RUNFILES / os.environ["WHEEL"]
UPSTREAM = RUNFILES / os.environ["UPSTREAM"]
ARCH = os.environ["ARCH"]
# {member stem: runfiles path of the binary built here}, from the wheel's BUILD file's map
REPLACED = {
    f"ai/backend/runner/{stem}.{ARCH}.bin": RUNFILES / path
    for stem, path in json.loads((RUNFILES / os.environ["REPLACED"]).read_text()).items()
}
VERSION = "26.9.6+krunner.1"
# Programs written in this repository: their source file and license text (the BUILD file)
WRITTEN_HERE = {
    path: {"source": (RUNFILES / rloc).read_bytes(), "license": (RUNFILES / lic).read_bytes()}
    for path, rloc, lic in (entry.split("=") for entry in os.environ["WRITTEN_HERE"].split())
}
DIST_INFO = f"backend_ai_kernel_binary-{VERSION}.dist-info"
SCHEMA_DIR = "cyclonedx/schema/_res"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read(path: Path) -> dict[str, tuple[bytes, int]]:
    with zipfile.ZipFile(path) as zf:
        return {i.filename: (zf.read(i), (i.external_attr >> 16) & 0o777) for i in zf.infolist()}


OURS = read(WHEEL)
THEIRS = read(UPSTREAM)
OLD_INFO = next(n.split("/")[0] for n in THEIRS if n.endswith(".dist-info/METADATA"))


def test_other_members_are_upstreams_bytes_and_modes():
    assert REPLACED, "the wheel replaces nothing: its BUILD file's map is empty"
    kept = [n for n in THEIRS if not n.startswith(OLD_INFO + "/") and n not in REPLACED]
    # upstream 26.9.6 keeps 41 (x86_64) or 40 (aarch64: no jail) besides the five replaced
    assert len(kept) >= 40
    for name in kept:
        assert OURS[name] == THEIRS[name], f"{name} differs from upstream's"
    ours_payload = {n for n in OURS if not n.startswith(DIST_INFO + "/")}
    assert ours_payload == {n for n in THEIRS if not n.startswith(OLD_INFO + "/")}


@pytest.mark.parametrize("member", sorted(REPLACED))
def test_replaced_member_is_the_binary_built_here(member):
    data, mode = OURS[member]
    assert data == REPLACED[member].read_bytes()
    assert data != THEIRS[member][0]
    assert mode == 0o755


def test_record_verifies():
    lines = OURS[f"{DIST_INFO}/RECORD"][0].decode().splitlines()
    listed = {}
    for line in lines:
        name, digest, size = line.rsplit(",", 2)
        listed[name] = (digest, size)
    assert set(listed) == set(OURS)
    assert listed[f"{DIST_INFO}/RECORD"] == ("", "")
    for name, (data, _) in OURS.items():
        if name.endswith("/RECORD"):
            continue
        want = (
            "sha256="
            + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        )
        assert listed[name] == (want, str(len(data))), name


def test_metadata_and_tags():
    meta = Parser().parsestr(OURS[f"{DIST_INFO}/METADATA"][0].decode())
    old = Parser().parsestr(THEIRS[f"{OLD_INFO}/METADATA"][0].decode())
    assert meta["Name"] == "backend.ai-kernel-binary" and meta["Version"] == VERSION
    assert meta.get_payload() == old.get_payload()  # upstream's description, unchanged
    for field in ("Summary", "License", "Requires-Python"):
        assert meta[field] == old[field]
    for lic in meta.get_all("License-File"):
        assert f"{DIST_INFO}/licenses/{lic}" in OURS
    wheel = Parser().parsestr(OURS[f"{DIST_INFO}/WHEEL"][0].decode())
    plat = WHEEL.name[: -len(".whl")].rsplit("-", 1)[1]
    assert wheel.get_all("Tag") == [f"py3-none-{p}" for p in plat.split(".")]
    assert wheel["Root-Is-Purelib"] == "true"  # as upstream's: installed to purelib
    for name in ("namespace_packages.txt", "top_level.txt"):
        assert OURS[f"{DIST_INFO}/{name}"][0] == THEIRS[f"{OLD_INFO}/{name}"][0]


def schema_file(name: str) -> Path:
    for entry in sys.path:
        path = Path(entry) / SCHEMA_DIR / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"{SCHEMA_DIR}/{name} (cyclonedx-python-lib) is not on sys.path")


def test_sbom_is_valid_and_names_every_member():
    def load(uri: str) -> dict:
        name = uri.split("#")[0].rsplit("/", 1)[1]
        try:
            return json.loads(schema_file(name).read_text())
        except FileNotFoundError:
            return json.loads(
                schema_file(name.replace(".schema.json", ".SNAPSHOT.schema.json")).read_text()
            )

    schema = json.loads(schema_file("bom-1.5.SNAPSHOT.schema.json").read_text())
    validate = fastjsonschema.compile(
        schema, handlers={"http": load, "https": load}, use_default=False
    )
    doc = json.loads(OURS[f"{DIST_INFO}/sboms/sbom.cdx.json"][0])
    validate(doc)
    assert doc["metadata"]["component"]["version"] == VERSION

    def props(c: dict) -> dict:
        return {p["name"].removeprefix("krunner:"): p["value"] for p in c["properties"]}

    built = {props(c)["member"]: c for c in doc["components"] if "member" in props(c)}
    upstream = {c["name"]: c for c in doc["components"] if c["bom-ref"].startswith("upstream:")}
    payload = {n for n in OURS if not n.startswith(DIST_INFO + "/")}
    assert set(built) == set(REPLACED)
    assert {props(c)["source_path"] for c in built.values() if "source_path" in props(c)} == set(
        WRITTEN_HERE
    )
    assert set(upstream) == payload - set(REPLACED)
    for member, c in built.items():
        p = props(c)
        assert p["built_here"] == "true" and c["type"] == "application"
        assert p["member_sha256"] == hashlib.sha256(OURS[member][0]).hexdigest()
        assert p["replaces_upstream_sha256"] == hashlib.sha256(THEIRS[member][0]).hexdigest()
        assert p["artifact"] in ("upstream", "offline substitute", "written here")
        assert f"{DIST_INFO}/{p['license_file']}" in OURS
        if p["artifact"] == "written here":  # a file of this repository: its bytes and text
            written = WRITTEN_HERE[p["source_path"]]
            assert c["hashes"] == [{"alg": "SHA-256", "content": sha256(written["source"])}]
            assert OURS[f"{DIST_INFO}/{p['license_file']}"][0] == written["license"]
        libs = [d for d in doc["dependencies"] if d["ref"] == c["bom-ref"]][0]["dependsOn"]
        for ref in libs:  # every library built into it has its source and license text
            lib = next(x for x in doc["components"] if x["bom-ref"] == ref)
            assert props(lib)["linked_into"] and f"{DIST_INFO}/{props(lib)['license_file']}" in OURS
    categories = {props(c)["category"] for c in upstream.values()}
    want = {"libbaihook", "all-smi", "bssh", "extractor image", "scripts and data"}
    if any("/jail." in n for n in THEIRS):  # upstream ships jail for x86_64 only
        want.add("jail")
    assert want <= categories
    for name, c in upstream.items():
        if "/libbaihook." in name or "/jail." in name:
            assert props(c)["category"] == name.rsplit("/", 1)[1].split(".")[0]
    for name, c in upstream.items():
        p = props(c)
        assert p["built_here"] == "false" and p["not_built_because"]
        assert c["hashes"][0]["content"] == hashlib.sha256(OURS[name][0]).hexdigest()
