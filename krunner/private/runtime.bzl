"""The CPython runtime of a volume, as one directory laid out as the volume root.

`krunner_source_runtime` takes CPython as //third_party/cpython built it from
source; `krunner_runtime` takes a prebuilt python-build-standalone archive.
Both go through runtime_tree.py, so they come out trimmed and byte-compiled alike.
"""

# The build's own python3.13 (the sid root's, on the action's PATH) byte-compiles
# the standard library; pyc.py checks that it writes CPython 3.13's magic.
_COMPILER = "python3.13"

def _run(ctx, args, inputs, tree, provenance):
    args.add("--python", ctx.attr.python_version)
    args.add("--compiler", _COMPILER)
    args.add("--out-dir", tree.path)
    args.add("--out-provenance", provenance)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = inputs,
        outputs = [tree, provenance],
        mnemonic = "KrunnerRuntime",
        progress_message = "Laying out CPython runtime %{label}",
    )
    return [
        DefaultInfo(files = depset([tree])),
        OutputGroupInfo(provenance = depset([provenance])),
    ]

def _prebuilt_impl(ctx):
    tree = ctx.actions.declare_directory(ctx.attr.name)
    provenance = ctx.actions.declare_file(ctx.attr.name + "_provenance.json")
    args = ctx.actions.args()
    args.add("--provenance", ctx.file.provenance)
    return _run(ctx, args, ctx.files.srcs + [ctx.file.provenance], tree, provenance)

krunner_runtime = rule(
    implementation = _prebuilt_impl,
    doc = "A prebuilt CPython (a pinned_archive repo), minus pip, packages and what a runner never uses, as a directory.",
    attrs = {
        "srcs": attr.label(mandatory = True, doc = "All files of the runtime repository (its :files)."),
        "provenance": attr.label(mandatory = True, allow_single_file = True, doc = "The repository's PROVENANCE.json."),
        "python_version": attr.string(mandatory = True, doc = "X.Y the runtime must provide."),
        "_tool": attr.label(default = "//krunner/private:runtime_tree", executable = True, cfg = "exec"),
    },
)

def _source_impl(ctx):
    tree = ctx.actions.declare_directory(ctx.attr.name)
    provenance = ctx.actions.declare_file(ctx.attr.name + "_provenance.json")
    args = ctx.actions.args()
    args.add("--tree", ctx.file.cpython.path)
    for prov, name in ctx.attr.components.items():
        args.add("--component", "{}={}".format(name, prov.files.to_list()[0].path))
    return _run(ctx, args, [ctx.file.cpython] + ctx.files.components, tree, provenance)

krunner_source_runtime = rule(
    implementation = _source_impl,
    doc = "CPython built from source (an install tree of //third_party/cpython), trimmed and byte-compiled, as a directory.",
    attrs = {
        "cpython": attr.label(mandatory = True, allow_single_file = True, doc = "The installed CPython (prefix /opt/backend.ai) for the volume's target."),
        "components": attr.label_keyed_string_dict(
            mandatory = True,
            allow_files = [".json"],
            doc = "PROVENANCE.json of CPython's archive and of each library built into it, to its name (`cpython` for CPython's own).",
        ),
        "python_version": attr.string(mandatory = True, doc = "X.Y the runtime must provide."),
        "_tool": attr.label(default = "//krunner/private:runtime_tree", executable = True, cfg = "exec"),
    },
)
