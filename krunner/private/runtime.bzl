"""`krunner_runtime`: a CPython runtime as one directory laid out as the volume root."""

def _impl(ctx):
    tree = ctx.actions.declare_directory(ctx.attr.name)
    provenance = ctx.actions.declare_file(ctx.attr.name + "_provenance.json")
    args = ctx.actions.args()
    args.add("--provenance", ctx.file.provenance)
    args.add("--python", ctx.attr.python_version)
    args.add("--out-dir", tree.path)
    args.add("--out-provenance", provenance)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.srcs + [ctx.file.provenance],
        outputs = [tree, provenance],
        mnemonic = "KrunnerRuntime",
        progress_message = "Laying out CPython runtime %{label}",
    )
    return [
        DefaultInfo(files = depset([tree])),
        OutputGroupInfo(provenance = depset([provenance])),
    ]

krunner_runtime = rule(
    implementation = _impl,
    doc = "CPython from a pinned_archive repo (pbs or substitute), minus pip and packages, as a directory.",
    attrs = {
        "srcs": attr.label(mandatory = True, doc = "All files of the runtime repository (its :files)."),
        "provenance": attr.label(mandatory = True, allow_single_file = True, doc = "The repository's PROVENANCE.json."),
        "python_version": attr.string(mandatory = True, doc = "X.Y the runtime must provide."),
        "_tool": attr.label(default = "//krunner/private:runtime_tree", executable = True, cfg = "exec"),
    },
)
