"""`platform_binary`: an executable built for a fixed target platform.

Lets one build consume the same binary for several platforms (the x86_64 and
aarch64 ttyd in their volumes) whatever --platforms says.
"""

def _platform_transition_impl(_settings, attr):
    return {"//command_line_option:platforms": str(attr.platform)}

_platform_transition = transition(
    implementation = _platform_transition_impl,
    inputs = [],
    outputs = ["//command_line_option:platforms"],
)

def _platform_binary_impl(ctx):
    src = ctx.attr.binary[0][DefaultInfo].files_to_run.executable
    if src == None:
        fail("{} is not executable".format(ctx.attr.binary[0].label))
    out = ctx.actions.declare_file(ctx.attr.name)
    ctx.actions.symlink(output = out, target_file = src, is_executable = True)
    return [DefaultInfo(files = depset([out]), executable = out)]

platform_binary = rule(
    implementation = _platform_binary_impl,
    doc = "The executable of `binary`, built for `platform`.",
    executable = True,
    attrs = {
        "binary": attr.label(mandatory = True, executable = True, cfg = _platform_transition, doc = "The binary to build."),
        "platform": attr.label(mandatory = True, doc = "The platform to build it for."),
        "_allowlist_function_transition": attr.label(default = "@bazel_tools//tools/allowlists/function_transition_allowlist"),
    },
)
