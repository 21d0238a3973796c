"""`cmake_configure_file`: a header from a CMake template, configured by Bazel."""

def _impl(ctx):
    out = ctx.actions.declare_file(ctx.attr.out)
    args = ctx.actions.args()
    args.add("--template", ctx.file.template)
    args.add("--out", out)
    if ctx.attr.only_at:
        args.add("--only-at")
    for name, value in sorted(ctx.attr.defines.items()):
        args.add("--define", "{}={}".format(name, value))
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = [ctx.file.template],
        outputs = [out],
        mnemonic = "CMakeConfigureFile",
        progress_message = "Configuring %{output}",
    )
    return [DefaultInfo(files = depset([out]))]

cmake_configure_file = rule(
    implementation = _impl,
    doc = "Expands a CMake configure_file() template (#cmakedefine, ${VAR}, @VAR@) into `out`.",
    attrs = {
        "template": attr.label(mandatory = True, allow_single_file = True, doc = "The upstream template."),
        "out": attr.string(mandatory = True, doc = "Output path, relative to the package."),
        "defines": attr.string_dict(doc = "CMake variables and their values; unset means false/empty."),
        "only_at": attr.bool(doc = "Substitute @VAR@ only, as configure_file(... @ONLY)."),
        "_tool": attr.label(default = "//third_party/cmake:configure_file", executable = True, cfg = "exec"),
    },
)
