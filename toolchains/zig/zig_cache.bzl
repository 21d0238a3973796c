"""`zig_cache`: the zig cache a target's link actions start from, built as a Bazel action.

zig builds libc, crt files and compiler-rt for a target the first time something
links for it. Left to a cache shared outside Bazel, that work would be invisible
to Bazel: never verified, surviving `clean --expunge`, and different per machine.
Here it is one action per target whose output is a directory: content-addressed,
rebuilt by Bazel if it is changed on disk, and shared through a remote cache like
any other output. Each link action copies it into a private zig cache.
"""

def _zig_cache_impl(ctx):
    out = ctx.actions.declare_directory(ctx.attr.name)
    args = ctx.actions.args()
    args.add(ctx.executable.zig)
    args.add(ctx.attr.triple)
    args.add(out.path)
    args.add_all(ctx.attr.link_flags)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.lib,
        tools = [ctx.executable.zig],
        outputs = [out],
        mnemonic = "ZigCache",
        progress_message = "Building zig's libc and compiler-rt for " + ctx.attr.triple,
    )
    return [DefaultInfo(files = depset([out]))]

zig_cache = rule(
    implementation = _zig_cache_impl,
    doc = "A directory holding zig's cache of libc, crt files and compiler-rt for one target, " +
          "warmed by linking a probe with `link_flags` and checked to serve that link without rebuilding.",
    attrs = {
        "zig": attr.label(mandatory = True, executable = True, cfg = "exec", allow_single_file = True, doc = "The zig binary; its lib/ is beside it."),
        "lib": attr.label(mandatory = True, doc = "The files of zig's lib/ that building a Linux libc reads."),
        "triple": attr.string(mandatory = True, doc = "zig's -target triple, e.g. x86_64-linux-musl."),
        "link_flags": attr.string_list(doc = "The flags the toolchain links executables with; the cache is keyed on them."),
        "_tool": attr.label(default = "//toolchains/zig:warm_cache.sh", executable = True, cfg = "exec", allow_single_file = True),
    },
)
