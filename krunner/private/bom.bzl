"""`krunner_bom`: every component's license text and the volume's CycloneDX SBOM, as one directory."""

def _impl(ctx):
    out = ctx.actions.declare_directory(ctx.attr.name)
    runtime = ctx.attr.runtime[DefaultInfo].files.to_list()
    packages = ctx.attr.packages[DefaultInfo].files.to_list()
    if len(runtime) != 1 or len(packages) != 1:
        fail("runtime and packages must each be one directory target")
    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("--out-dir", out.path)
    args.add("--distribution", ctx.attr.distribution)
    args.add("--version", ctx.attr.version)
    args.add("--distro-key", ctx.attr.distro_key)
    args.add("--arch", ctx.attr.arch)
    args.add("--volume-version", str(ctx.attr.volume_version))
    args.add("--python", ctx.attr.python_version)
    args.add("--sources-lock", ctx.file._sources_lock)
    args.add("--runtime", runtime[0].path)
    args.add("--runtime-provenance", ctx.file.runtime_provenance)
    args.add_all(ctx.files._runtime_texts, before_each = "--runtime-text")
    inputs = runtime + packages + ctx.files._runtime_texts + [
        ctx.file._sources_lock,
        ctx.file.runtime_provenance,
        ctx.file.packages_lock,
        ctx.file._spdx_schema,
    ]

    # ttyd first: make_bom takes the first archive as the application the others are linked into.
    by_name = {name: target for target, name in ctx.attr.archives.items()}
    if ctx.attr.ttyd_name not in by_name:
        fail("archives has no entry named {}".format(ctx.attr.ttyd_name))
    for name in [ctx.attr.ttyd_name] + sorted([n for n in by_name if n != ctx.attr.ttyd_name]):
        files = by_name[name][DefaultInfo].files.to_list()
        prov = [f for f in files if f.basename == "PROVENANCE.json"]
        texts = [f for f in files if f.basename != "PROVENANCE.json"]
        if len(prov) != 1 or len(texts) != 1:
            fail("{} must provide one PROVENANCE.json and one license text".format(by_name[name].label))
        args.add("--archive", "{}={}={}".format(name, prov[0].path, texts[0].path))
        inputs += [prov[0], texts[0]]
    for target, name in ctx.attr.linked.items():
        prov = target[DefaultInfo].files.to_list()
        if len(prov) != 1:
            fail("linked {} must be one PROVENANCE.json".format(target.label))
        args.add("--linked", "{}={}".format(name, prov[0].path))
        inputs.append(prov[0])
    args.add("--packages-lock", ctx.file.packages_lock)
    args.add("--site-packages", "{}/lib/python{}/site-packages".format(packages[0].path, ctx.attr.python_version))
    args.add("--spdx-schema", ctx.file._spdx_schema)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "KrunnerBom",
        progress_message = "Collecting licenses and writing the SBOM of %{label}",
    )
    return [DefaultInfo(files = depset([out]))]

krunner_bom = rule(
    implementation = _impl,
    doc = """License texts (licenses/...) and the CycloneDX 1.5 SBOM (sbom.cdx.json) of one volume.

Generated from the sources lock, the runtime's and each archive's provenance, the
package lock and the installed dist-info; the build fails if any component lacks a
license text or any installed distribution a lock entry.""",
    attrs = {
        "distribution": attr.string(mandatory = True, doc = "The wheel's distribution name (the SBOM's subject)."),
        "version": attr.string(mandatory = True, doc = "The wheel's version."),
        "distro_key": attr.string(mandatory = True, doc = "The agent's distro key."),
        "arch": attr.string(mandatory = True, values = ["x86_64", "aarch64"], doc = "The volume's architecture."),
        "volume_version": attr.int(mandatory = True, doc = "The integer volume version."),
        "python_version": attr.string(mandatory = True, doc = "X.Y of the runtime."),
        "runtime": attr.label(mandatory = True, doc = "The krunner_runtime directory (its LICENSE.txt is CPython's text)."),
        "runtime_provenance": attr.label(mandatory = True, allow_single_file = True, doc = "The runtime's provenance JSON."),
        "packages": attr.label(mandatory = True, doc = "The krunner_site_packages directory."),
        "packages_lock": attr.label(mandatory = True, allow_single_file = True, doc = "The target's package lock."),
        "archives": attr.label_keyed_string_dict(mandatory = True, doc = "For ttyd and each C library built into it, a filegroup of the archive's PROVENANCE.json and its license text, keyed to the component's name."),
        "linked": attr.label_keyed_string_dict(allow_files = [".json"], doc = "For each library linked into a package built from source (the lock's `links`), its archive's PROVENANCE.json, keyed to the library's name."),
        "ttyd_name": attr.string(default = "ttyd", doc = "Which of `archives` is the application the others are linked into."),
        "_runtime_texts": attr.label(default = "@krunner_license_texts//:all", doc = "License texts of the libraries CPython links in."),
        "_sources_lock": attr.label(default = "//third_party:sources.lock.json", allow_single_file = True),
        "_spdx_schema": attr.label(default = "@pypi_cyclonedx_python_lib//:cyclonedx/schema/_res/spdx.SNAPSHOT.schema.json", allow_single_file = True),
        "_tool": attr.label(default = "//krunner/private:make_bom", executable = True, cfg = "exec"),
    },
)
