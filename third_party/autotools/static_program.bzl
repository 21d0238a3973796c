"""Static musl programs from a `configure_make` build: warming zig for them, and taking one out.

`configure_make` warms zig's cache for the dynamic links that library builds
make. A program linked `-static` needs zig's static libc.a as well, which zig
would otherwise build inside the first static link of configure or make, on
every CPU, with archive members in completion order. `STATIC_WARM_STEP`, the
first step of such a build, links a static probe on one CPU, so libc.a (and so
the program's layout) is the same in every build.

`installed_program` takes one executable out of the install tree, as a file
that other rules and tests use by label.
"""

load("//third_party/autotools:configure_make.bzl", "ConfigureMakeInfo")

# The first CPU this action may run on, as configure_make's own warming picks it.
_WARM = (
    "cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//') && " +
    "exec taskset -c \"$cpu\" cc -static -fPIC -o /mnt/tmp/probe-static /mnt/tmp/probe.c"
)

STATIC_WARM_STEP = json.encode({
    "what": "warming zig's cache (static executable)",
    "argv": ["sh", "-c", _WARM],
    "cwd": "",
})

def _installed_program_impl(ctx):
    tree = ctx.attr.build[ConfigureMakeInfo].tree
    out = ctx.actions.declare_file(ctx.attr.name)
    ctx.actions.run_shell(
        inputs = [tree],
        outputs = [out],
        command = 'src="$1/$2"; [ -f "$src" ] || { echo "installed_program: $2 is not in the install tree $1" >&2; exit 1; }; cp "$src" "$3" && chmod 0755 "$3"',
        arguments = [tree.path, ctx.attr.path, out.path],
        mnemonic = "InstalledProgram",
        progress_message = "Taking %{output} out of " + str(ctx.attr.build.label),
    )
    return [DefaultInfo(files = depset([out]), executable = out)]

installed_program = rule(
    implementation = _installed_program_impl,
    doc = "One executable of a configure_make install tree, as a file named after the target.",
    executable = True,
    attrs = {
        "build": attr.label(mandatory = True, providers = [ConfigureMakeInfo], doc = "The configure_make build."),
        "path": attr.string(mandatory = True, doc = "The program's path inside the install tree (relative to the prefix)."),
    },
)
