"""`kernel_binary_wheel`: the drop-in backend.ai-kernel-binary wheel for one architecture."""

def _impl(ctx):
    upstream = ctx.file.upstream
    if not upstream.basename.endswith(".whl") or upstream.basename.count("-") != 4:
        fail("upstream must be a wheel named NAME-VERSION-py3-none-PLATFORM.whl, not " + upstream.basename)
    name, _, _, _, plat = upstream.basename[:-len(".whl")].split("-")
    out = ctx.actions.declare_file("{}-{}+{}-py3-none-{}.whl".format(name, ctx.attr.upstream_version, ctx.attr.local_label, plat))
    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("--upstream", upstream)
    args.add("--upstream-version", ctx.attr.upstream_version)
    args.add("--local-label", ctx.attr.local_label)
    args.add("--arch", ctx.attr.arch)
    args.add("--out", out)
    args.add("--sources-lock", ctx.file._sources_lock)
    args.add("--spdx-schema", ctx.file._spdx_schema)
    inputs = [upstream, ctx.file._sources_lock, ctx.file._spdx_schema]
    replaced = {}
    for target, stem in ctx.attr.replacements.items():
        files = target[DefaultInfo].files.to_list()
        if len(files) != 1:
            fail("replacement {} must be one executable, not {} files".format(target.label, len(files)))
        args.add("--replace", "{}={}".format(stem, files[0].path))
        inputs.append(files[0])
        replaced[stem] = files[0]
    for stem, program in ctx.attr.programs.items():
        args.add("--program", "{}={}".format(stem, program))
    for target, stems in ctx.attr.sources.items():
        files = target[DefaultInfo].files.to_list()
        prov = [f for f in files if f.basename == "PROVENANCE.json"]
        texts = [f for f in files if f.basename != "PROVENANCE.json"]
        if len(prov) != 1 or len(texts) != 1:
            fail("source {} must provide one PROVENANCE.json and one license text".format(target.label))
        args.add("--source", "{}={}={}={}".format(target.label.name, stems, prov[0].path, texts[0].path))
        inputs += [prov[0], texts[0]]
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "KernelBinaryWheel",
        progress_message = "Writing the drop-in wheel %{output}",
    )

    # For tests: which binary replaced which member, as runfiles paths (the binaries
    # are in the runfiles), so the map is written once, in the BUILD file.
    manifest = ctx.actions.declare_file(ctx.label.name + ".replacements.json")
    ctx.actions.write(manifest, json.encode({stem: _rlocationpath(ctx, f) for stem, f in replaced.items()}))
    return [
        DefaultInfo(files = depset([out]), runfiles = ctx.runfiles(files = replaced.values())),
        OutputGroupInfo(replacements = depset([manifest])),
    ]

def _rlocationpath(ctx, f):
    """`f`'s path in runfiles, as $(rlocationpath) gives it."""
    if f.short_path.startswith("../"):
        return f.short_path[3:]
    return ctx.workspace_name + "/" + f.short_path

kernel_binary_wheel = rule(
    implementation = _impl,
    doc = """backend.ai-kernel-binary for one architecture: upstream's published wheel with
the members built here in place of theirs, every other member byte-identical, the
version `<upstream_version>+<local_label>`, a recomputed RECORD, and a CycloneDX SBOM
(dist-info/sboms/) that says which members are built here, from which sources, and
which are upstream's and why. The tool refuses a replacement that upstream's wheel
does not have. Output group `replacements`: a JSON {member stem: runfiles path of
the binary}, with the binaries in the runfiles, for tests.""",
    attrs = {
        "upstream": attr.label(mandatory = True, allow_single_file = [".whl"], doc = "Upstream's published wheel for `arch`, pinned by sha256 (a tool wheel lock entry with keep_wheel)."),
        "upstream_version": attr.string(mandatory = True, doc = "Its version; the tool checks it against the wheel's METADATA."),
        "local_label": attr.string(mandatory = True, doc = "Our PEP 440 local version label (e.g. krunner.1); bump it when a replaced binary changes."),
        "arch": attr.string(mandatory = True, values = ["x86_64", "aarch64"], doc = "The wheel's architecture; each replaced member is ai/backend/runner/<stem>.<arch>.bin."),
        "replacements": attr.label_keyed_string_dict(mandatory = True, doc = "Our static, stripped binary for `arch`, keyed to the member stem it replaces (e.g. ttyd_linux)."),
        "programs": attr.string_dict(mandatory = True, doc = "Member stem -> the name of the source that is its program (one of `sources`)."),
        "sources": attr.label_keyed_string_dict(mandatory = True, doc = "Each source archive's filegroup (PROVENANCE.json and license text, as //krunner/licenses has them), keyed to the comma-separated member stems built from it."),
        "_sources_lock": attr.label(default = "//third_party:sources.lock.json", allow_single_file = True),
        "_spdx_schema": attr.label(default = "@pypi_cyclonedx_python_lib//:cyclonedx/schema/_res/spdx.SNAPSHOT.schema.json", allow_single_file = True),
        "_tool": attr.label(default = "//krunner/kernel_binary_wheel:kernel_binary_wheel", executable = True, cfg = "exec"),
    },
)

def kernel_binary_wheels(name, upstream, upstream_version, local_label, replacements, archs):
    """One `<name>_<arch>` kernel_binary_wheel per arch, from one replacement map.

    Also `<name>_<arch>_replacements`: the JSON of which binary replaced which
    member (the wheel's `replacements` output group), for tests.

    Args:
      name: prefix of the targets (`wheel` gives `wheel_x86_64`, `wheel_aarch64`).
      upstream: upstream's wheel label, with `{arch}` where the arch goes.
      upstream_version: upstream's version (e.g. 26.9.6).
      local_label: our local version label (e.g. krunner.1).
      replacements: member stem -> {"binary": label with `{arch}`, "sources":
        [component names of //krunner/licenses, the program first]}.
      archs: the architectures to build.
    """
    by_source = {}
    for stem, r in replacements.items():
        for src in r["sources"]:
            by_source.setdefault("//krunner/licenses:" + src, []).append(stem)
    for arch in archs:
        kernel_binary_wheel(
            name = "{}_{}".format(name, arch),
            upstream = upstream.format(arch = arch),
            upstream_version = upstream_version,
            local_label = local_label,
            arch = arch,
            replacements = {r["binary"].format(arch = arch): stem for stem, r in replacements.items()},
            programs = {stem: r["sources"][0] for stem, r in replacements.items()},
            sources = {label: ",".join(stems) for label, stems in by_source.items()},
        )
        native.filegroup(
            name = "{}_{}_replacements".format(name, arch),
            srcs = [":{}_{}".format(name, arch)],
            output_group = "replacements",
            testonly = True,
        )
