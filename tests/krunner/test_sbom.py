"""Each built wheel carries license texts for every component and a valid CycloneDX 1.5 SBOM.

Run once per wheel (WHEEL, KEY from the BUILD file). The SBOM is validated against
the CycloneDX 1.5 JSON schema as published in cyclonedx-python-lib's wheel (with
the SPDX license-id and JSF schemas it refers to), then checked for completeness
against what the volume really holds: every installed distribution, CPython, ttyd
and every library the runtime's lock entry says its build links in must have an
SBOM entry whose license text exists in the volume's licenses/ and the wheel's
dist-info/licenses/. `check()` is also run on damaged copies to show it fails.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path

import fastjsonschema
import pytest

KEY = os.environ["KEY"]
RUNFILES = Path(os.environ["TEST_SRCDIR"])
WHEEL = RUNFILES / os.environ["WHEEL"]
PROVENANCE = json.loads((RUNFILES / os.environ["RUNTIME_PROVENANCE"]).read_text())
SOURCES = json.loads((RUNFILES / os.environ["SOURCES_LOCK"]).read_text())
SITE = "lib/python3.13/site-packages/"
# The interpreter, or libpython where shared (pbs): PY_VERSION is in it.
INTERPRETER = r"bin/python3\.13|lib/libpython3\.13\.so.*"
SCHEMA_DIR = "cyclonedx/schema/_res"
TTYD_PARTS = {"ttyd", "libwebsockets", "libuv", "json-c", "mbedtls", "zlib"}


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def schema_file(name: str) -> Path:
    for entry in sys.path:
        path = Path(entry) / SCHEMA_DIR / name
        if path.is_file():
            return path
    raise FileNotFoundError(f"{SCHEMA_DIR}/{name} (cyclonedx-python-lib) is not on sys.path")


@pytest.fixture(scope="module")
def validate():
    def load(uri: str) -> dict:
        # The schema's $id is cyclonedx.org; its siblings are resolved from the wheel's copies.
        name = uri.split("#")[0].rsplit("/", 1)[1]
        try:
            return json.loads(schema_file(name).read_text())
        except FileNotFoundError:
            return json.loads(
                schema_file(name.replace(".schema.json", ".SNAPSHOT.schema.json")).read_text()
            )

    schema = json.loads(schema_file("bom-1.5.SNAPSHOT.schema.json").read_text())
    # use_default=False: fastjsonschema would otherwise fill the schema's defaults into the document.
    return fastjsonschema.compile(schema, handlers={"http": load, "https": load}, use_default=False)


class Wheel:
    """The wheel's SBOM and license files, and its volume's files."""

    def __init__(self, path: Path):
        with zipfile.ZipFile(path) as zf:
            names = zf.namelist()
            di = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
            self.metadata = Parser().parsestr(zf.read(f"{di}/METADATA").decode())
            self.sbom = json.loads(zf.read(f"{di}/sboms/sbom.cdx.json"))
            self.dist_licenses = {
                n[len(f"{di}/licenses/") :]: zf.read(n)
                for n in names
                if n.startswith(f"{di}/licenses/") and not n.endswith("/")
            }
            volume = zf.read(next(n for n in names if n.endswith(".tar.xz")))
        self.volume: dict[str, bytes | None] = {}
        with tarfile.open(fileobj=io.BytesIO(volume), mode="r:xz") as tar:
            for m in tar.getmembers():
                name = m.name[2:] if m.name.startswith("./") else m.name
                wanted = (
                    name.startswith("licenses/")
                    or name == "sbom.cdx.json"
                    or name.endswith(".dist-info/METADATA")
                    or re.fullmatch(INTERPRETER, name)
                )
                self.volume[name] = tar.extractfile(m).read() if m.isfile() and wanted else None


@pytest.fixture(scope="module")
def wheel():
    return Wheel(WHEEL)


def prop(component: dict, name: str) -> str | None:
    return next(
        (p["value"] for p in component.get("properties", []) if p["name"] == f"krunner:{name}"),
        None,
    )


def check(sbom: dict, volume: dict, dist_licenses: dict) -> None:
    """Every component has an entry, a hash, a URL, an origin and a license text; raises AssertionError."""
    comps = sbom["components"]
    by_ref = {c["bom-ref"]: c for c in comps}
    assert len(by_ref) == len(comps), "duplicate bom-ref"
    for c in comps:
        what = f"{c.get('name')} {c.get('version')}"
        assert c.get("name") and c.get("version"), f"{what}: no name or version"
        assert c.get("licenses"), f"{what}: no license"
        assert any(
            h["alg"] == "SHA-256" and len(h["content"]) == 64 for h in c.get("hashes", [])
        ), f"{what}: no sha256 of the archive or wheel it came from"
        assert any(r["type"] == "distribution" for r in c.get("externalReferences", [])), (
            f"{what}: no URL"
        )
        origin = prop(c, "artifact")
        assert origin in ("upstream", "offline substitute"), (
            f"{what}: says neither upstream nor substitute"
        )
        if origin != "upstream":
            assert prop(c, "substitute") and prop(c, "upstream_sha256"), (
                f"{what}: substitute not named"
            )
        text = prop(c, "license_file")
        assert text and text.startswith("licenses/"), f"{what}: no license file named"
        rel = text[len("licenses/") :]
        in_volume = [n for n in volume if n == text or n.startswith(text.rstrip("/") + "/")]
        assert any(volume.get(n) for n in in_volume), (
            f"{what}: {text} is missing or empty in the volume"
        )
        assert any(n == rel or n.startswith(rel.rstrip("/") + "/") for n in dist_licenses), (
            f"{what}: {text} is missing from dist-info/licenses/"
        )
    names = {(normalize(c["name"]), c["version"]) for c in comps}

    # Every installed distribution.
    for n, data in volume.items():
        if n.startswith(SITE) and n.endswith(".dist-info/METADATA"):
            meta = Parser().parsestr(data.decode())
            assert (normalize(meta["Name"]), meta["Version"]) in names, (
                f"installed {meta['Name']} {meta['Version']} has no SBOM entry"
            )
    # CPython, at the version the volume really has, and what its build links in.
    # PY_VERSION as the interpreter (or libpython, where shared) carries it.
    found = {
        m.decode()
        for n, d in volume.items()
        if re.fullmatch(INTERPRETER, n)
        for m in re.findall(rb"\0(3\.13\.\d+)\0", d or b"")
    }
    assert len(found) == 1, f"the interpreter names CPython versions {found}"
    (version,) = found
    assert ("cpython", version) in names, f"CPython {version} has no SBOM entry"
    entry = SOURCES["archives"][PROVENANCE["name"]]
    for lib in entry["components"]:
        assert any(
            c["name"] == lib["name"]
            and c["version"] == lib["version"]
            and prop(c, "linked_into") == "CPython"
            for c in comps
        ), f"{lib['name']} {lib['version']} (linked into CPython) has no SBOM entry"
    # ttyd and what it is built from.
    assert "bin/ttyd" in volume
    ttyd = {c["name"] for c in comps if c["bom-ref"].startswith("ttyd:")}
    assert ttyd == TTYD_PARTS, f"ttyd's components: {sorted(ttyd)}"
    # No license text that no component claims.
    claimed = [prop(c, "license_file") for c in comps]
    for n, data in volume.items():
        if n.startswith("licenses/") and data is not None:
            assert any(n == t or (t.endswith("/") and n.startswith(t)) for t in claimed), (
                f"{n} belongs to no component"
            )
    # The dependency graph only names components that exist.
    for dep in sbom["dependencies"]:
        for ref in [dep["ref"]] + dep.get("dependsOn", []):
            assert ref in by_ref or ref == sbom["metadata"]["component"]["bom-ref"], (
                f"dangling ref {ref}"
            )


def test_sbom_is_valid_cyclonedx_1_5(wheel, validate):
    assert wheel.sbom["bomFormat"] == "CycloneDX" and wheel.sbom["specVersion"] == "1.5"
    validate(wheel.sbom)


def test_schema_refuses_a_bad_document(wheel, validate):
    bad = copy.deepcopy(wheel.sbom)
    bad["components"][0]["licenses"] = [{"license": {"id": "Not-A-SPDX-Id"}}]
    with pytest.raises(fastjsonschema.JsonSchemaException):
        validate(bad)


def test_volume_and_wheel_carry_the_same_sbom(wheel):
    assert json.loads(wheel.volume["sbom.cdx.json"]) == wheel.sbom
    meta = wheel.sbom["metadata"]["component"]
    assert (meta["name"], meta["version"]) == (wheel.metadata["Name"], wheel.metadata["Version"])


def test_every_component_has_an_entry_and_a_license_text(wheel):
    check(wheel.sbom, wheel.volume, wheel.dist_licenses)


def test_sbom_says_what_the_runtime_came_from(wheel):
    cpython = next(c for c in wheel.sbom["components"] if c["bom-ref"] == "runtime:cpython")
    assert prop(cpython, "artifact") == PROVENANCE["artifact"]
    assert cpython["hashes"][0]["content"] == PROVENANCE["sha256"]
    assert cpython["version"] == PROVENANCE["python_version"]


def test_license_files_are_declared_in_metadata(wheel):
    declared = set(wheel.metadata.get_all("License-File") or [])
    assert declared == set(wheel.dist_licenses)
    for name, data in wheel.dist_licenses.items():
        assert wheel.volume.get("licenses/" + name) == data, name


@pytest.mark.parametrize(
    "damage",
    [
        "drop a wheel",
        "drop a CPython library",
        "drop ttyd's zlib",
        "lose a license text",
        "no hash",
        "no origin",
    ],
)
def test_check_fails_on_a_damaged_copy(wheel, damage):
    sbom, volume = copy.deepcopy(wheel.sbom), dict(wheel.volume)
    comps = sbom["components"]
    if damage == "drop a wheel":
        comps.remove(next(c for c in comps if c["bom-ref"].startswith("wheel:")))
    elif damage == "drop a CPython library":
        libs = [c for c in comps if prop(c, "linked_into") == "CPython"]
        if not libs:
            pytest.skip("this runtime ships no linked libraries (it takes them from the image)")
        comps.remove(libs[0])
    elif damage == "drop ttyd's zlib":
        comps.remove(next(c for c in comps if c["bom-ref"] == "ttyd:zlib"))
    elif damage == "lose a license text":
        volume[prop(comps[0], "license_file")] = None
    elif damage == "no hash":
        comps[-1]["hashes"] = []
    elif damage == "no origin":
        comps[1]["properties"] = [
            p for p in comps[1]["properties"] if p["name"] != "krunner:artifact"
        ]
    with pytest.raises(AssertionError):
        check(sbom, volume, wheel.dist_licenses)
