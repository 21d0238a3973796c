"""`npm_package`: a package from the npm registry, pinned by sha256, as a repository.

The registry is the one npm on this machine is configured with
(`KRUNNER_NPM_REGISTRY`, set by tools/bazel), so no registry host is written
into the repository. The tarball's address is read from the registry's own
metadata for the pinned version, and both its sha256 (our pin) and the
registry's `dist.integrity` (npm's own, recorded in the lock) must match.
"""

load("//third_party/python:simple_index.bzl", "redact")

def _tarball_url(rctx):
    registry = rctx.os.environ.get("KRUNNER_NPM_REGISTRY", "")
    if not registry:
        fail("KRUNNER_NPM_REGISTRY is not set: run Bazel through tools/bazel on a machine " +
             "with npm, or pass --repo_env=KRUNNER_NPM_REGISTRY=<your npm registry URL>")
    meta_url = "{}/{}".format(registry.rstrip("/"), rctx.attr.package.replace("/", "%2f"))
    rctx.download(url = [meta_url], output = "_packument.json")
    packument = json.decode(rctx.read("_packument.json"))
    rctx.delete("_packument.json")
    dist = packument.get("versions", {}).get(rctx.attr.version, {}).get("dist")
    if not dist:
        fail("{}@{} is not on {}: pick a version the registry has, and pin it in {}".format(
            rctx.attr.package,
            rctx.attr.version,
            redact(meta_url),
            "third_party/npm/npm_packages.lock.json",
        ))
    if dist.get("integrity") != rctx.attr.integrity:
        fail("{}@{}: the registry's integrity {} is not the pinned {}; re-pin it with npm pack".format(
            rctx.attr.package,
            rctx.attr.version,
            dist.get("integrity"),
            rctx.attr.integrity,
        ))
    return dist["tarball"]

def _npm_package_impl(rctx):
    rctx.download_and_extract(
        url = [_tarball_url(rctx)],
        sha256 = rctx.attr.sha256,
        type = "tar.gz",
        stripPrefix = "package",
    )
    rctx.file("BUILD.bazel", rctx.attr.build_file_content)

npm_package = repository_rule(
    implementation = _npm_package_impl,
    doc = "A package from the configured npm registry, checked against its sha256 and integrity.",
    environ = ["KRUNNER_NPM_REGISTRY"],
    attrs = {
        "package": attr.string(mandatory = True, doc = "The package's name, with its scope."),
        "version": attr.string(mandatory = True, doc = "The pinned version."),
        "sha256": attr.string(mandatory = True, doc = "sha256 of the package's tarball."),
        "integrity": attr.string(mandatory = True, doc = "The registry's `dist.integrity` for it."),
        "build_file_content": attr.string(mandatory = True, doc = "The repository's BUILD file."),
    },
)
