"""`tree_executable`: one executable file taken out of a `configure_make` install tree."""

load(":configure_make.bzl", "ConfigureMakeInfo")

def _impl(ctx):
    tree = ctx.attr.tree[ConfigureMakeInfo].tree
    out = ctx.actions.declare_file(ctx.attr.name)
    ctx.actions.run_shell(
        inputs = [tree],
        outputs = [out],
        command = 'test -f "$1/$2" || { echo "tree_executable: $2 is not in the install tree of $3" >&2; exit 1; }; cp "$1/$2" "$4" && chmod 0755 "$4"',
        arguments = [tree.path, ctx.attr.path, str(ctx.attr.tree.label), out.path],
        mnemonic = "TreeExecutable",
        progress_message = "Taking {} out of {}".format(ctx.attr.path, ctx.attr.tree.label),
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

tree_executable = rule(
    implementation = _impl,
    doc = "The file at `path` in a configure_make install tree, as an executable target.",
    executable = True,
    attrs = {
        "tree": attr.label(mandatory = True, providers = [ConfigureMakeInfo], doc = "The configure_make target."),
        "path": attr.string(mandatory = True, doc = "The file's path inside the install tree (under the prefix), e.g. bin/tmux."),
    },
)
