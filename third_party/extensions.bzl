"""Module extensions that turn the pin files into lazily fetched repositories.

`sources` declares one `pinned_archive` per entry of `sources.lock.json`; Bazel
fetches a repo only when a target needs it, so a build downloads only what it uses.
`tool_wheels` does the same for the pure-Python wheels the exec-side tools and
tests import (`python/tool_wheels.lock.json`), and `sdists` for the source
distributions built here (`python/sdists.lock.json`).
"""

load("//third_party:pinned_archive.bzl", "pinned_archive")
load("//third_party/python:pypi_sdist.bzl", "pypi_sdist")
load("//third_party/python:pypi_wheel.bzl", "pypi_wheel")

def _only_root(mctx, what):
    for mod in mctx.modules:
        if not mod.is_root:
            fail("the {} extension is configured by the root module only, not by {}".format(what, mod.name))

def _archive_attrs(name, entry):
    offline = entry.get("offline") or {}
    substitute = offline.get("substitute") or {}
    return dict(
        name = name,
        lock_key = name,
        version = entry["version"],
        urls = entry["urls"],
        sha256 = entry["sha256"],
        strip_prefix = entry.get("strip_prefix", ""),
        patches = entry.get("patches", []),
        build_file = entry.get("build_file"),
        offline_identical = offline.get("identical", False),
        substitute_path = substitute.get("debian_path", ""),
        substitute_sha256 = substitute.get("sha256", ""),
        substitute_strip_prefix = substitute.get("strip_prefix", ""),
        substitute_tree_sha256 = substitute.get("tree_sha256", ""),
        substitute_note = substitute.get("differs", ""),
        offline_note = offline.get("note", ""),
    )

def _sources_impl(mctx):
    _only_root(mctx, "sources")
    lock = json.decode(mctx.read(Label("//third_party:sources.lock.json")))
    for name, entry in lock["archives"].items():
        pinned_archive(**_archive_attrs(name, entry))
    return mctx.extension_metadata(reproducible = True)

sources = module_extension(
    implementation = _sources_impl,
    doc = "One repository per archive in //third_party:sources.lock.json, fetched on demand.",
)

def _tool_wheels_impl(mctx):
    _only_root(mctx, "tool_wheels")
    lock = json.decode(mctx.read(Label("//third_party/python:tool_wheels.lock.json")))
    for entry in lock["wheels"]:
        # `repo` names the repository where one project is pinned at two versions.
        pypi_wheel(
            name = "pypi_" + entry.get("repo", entry["project"].lower().replace("-", "_").replace(".", "_")),
            project = entry["project"],
            version = entry["version"],
            filename = entry["filename"],
            sha256 = entry["sha256"],
            keep_wheel = entry.get("keep_wheel", False),
            deps = ["@pypi_{}//:pkg".format(d.lower().replace("-", "_").replace(".", "_")) for d in entry.get("deps", [])],
        )
    return mctx.extension_metadata(reproducible = True)

tool_wheels = module_extension(
    implementation = _tool_wheels_impl,
    doc = "Pure-Python wheels for exec-side tools and tests, from //third_party/python:tool_wheels.lock.json.",
)

def _sdists_impl(mctx):
    _only_root(mctx, "sdists")
    lock = json.decode(mctx.read(Label("//third_party/python:sdists.lock.json")))
    for entry in lock["sdists"]:
        pypi_sdist(
            name = "pypi_sdist_" + entry["project"].lower().replace("-", "_").replace(".", "_"),
            project = entry["project"],
            version = entry["version"],
            filename = entry["filename"],
            sha256 = entry["sha256"],
            strip_prefix = entry["strip_prefix"],
        )
    return mctx.extension_metadata(reproducible = True)

sdists = module_extension(
    implementation = _sdists_impl,
    doc = "Source distributions built here, from //third_party/python:sdists.lock.json (@pypi_sdist_<name>).",
)
