"""`krunner_wheel`: the platform-tagged plugin wheel that carries one volume."""

def _krunner_wheel_impl(ctx):
    name = "{}-{}-py3-none-{}.whl".format(
        ctx.attr.distribution.replace("-", "_").replace(".", "_").lower(),
        ctx.attr.version,
        ".".join(ctx.attr.platform_tags),
    )
    out = ctx.actions.declare_file(name)
    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("--out", out)
    args.add("--distribution", ctx.attr.distribution)
    args.add("--version", ctx.attr.version)
    args.add("--summary", ctx.attr.summary)
    args.add("--package", ctx.attr.package)
    args.add("--distro-key", ctx.attr.distro_key)
    args.add("--arch", ctx.attr.arch)
    args.add("--volume", ctx.file.volume)
    args.add("--plugin", ctx.file.plugin)
    args.add("--volume-version", str(ctx.attr.volume_version))
    args.add("--python-version", ctx.attr.python_version)
    args.add_all(ctx.attr.platform_tags, before_each = "--platform-tag")
    bom = ctx.files.bom
    if bom:
        args.add("--bom-dir", bom[0].path)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [ctx.file.volume, ctx.file.plugin] + bom,
        outputs = [out],
        mnemonic = "KrunnerWheel",
        progress_message = "Writing wheel %{output}",
    )
    return [DefaultInfo(files = depset([out]))]

krunner_wheel = rule(
    implementation = _krunner_wheel_impl,
    doc = "A Backend.AI krunner plugin wheel (entry point group backendai_krunner_v10) holding one volume.",
    attrs = {
        "distribution": attr.string(mandatory = True, doc = "Distribution name, e.g. backend.ai-krunner-static-gnu."),
        "version": attr.string(mandatory = True, doc = "The wheel's version."),
        "summary": attr.string(mandatory = True, doc = "One-line summary for METADATA."),
        "package": attr.string(mandatory = True, doc = "Plugin subpackage and entry point name, e.g. static_gnu."),
        "distro_key": attr.string(mandatory = True, doc = "The agent's distro key (versions.txt), e.g. static-gnu or static-musl."),
        "arch": attr.string(mandatory = True, values = ["x86_64", "aarch64"], doc = "The volume's architecture."),
        "volume": attr.label(mandatory = True, allow_single_file = [".tar.xz"], doc = "The krunner_volume to carry."),
        "volume_version": attr.int(mandatory = True, doc = "Integer volume version; bump it whenever the volume changes."),
        "python_version": attr.string(mandatory = True, doc = "X.Y of the volume's CPython."),
        "platform_tags": attr.string_list(mandatory = True, doc = "Platform tags, joined with '.' into the compound tag."),
        "plugin": attr.label(default = "//krunner/plugin:plugin.py", allow_single_file = [".py"], doc = "The plugin module shipped as plugin.py."),
        "bom": attr.label(doc = "A krunner_bom directory: its licenses/ go to dist-info/licenses/, its sbom.cdx.json to dist-info/sboms/ (PEP 770)."),
        "_tool": attr.label(default = "//krunner/private:wheelmaker", executable = True, cfg = "exec"),
    },
)
