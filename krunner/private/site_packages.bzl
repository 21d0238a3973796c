"""`krunner_site_packages`: a target's wheels installed as one volume-root directory."""

def _impl(ctx):
    tree = ctx.actions.declare_directory(ctx.attr.name)
    args = ctx.actions.args()
    args.add("--lock", ctx.file.lock)
    args.add_all(ctx.files.wheels, before_each = "--wheel")
    args.add_all(ctx.files.built_wheels, before_each = "--built-wheel")
    args.add("--out-dir", tree.path)
    args.add("--compiler", ctx.attr.compiler)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.wheels + ctx.files.built_wheels + [ctx.file.lock],
        outputs = [tree],
        mnemonic = "KrunnerInstallWheels",
        progress_message = "Installing the runner's wheels for %{label}",
    )
    return [DefaultInfo(files = depset([tree]))]

krunner_site_packages = rule(
    implementation = _impl,
    doc = "Installs a package lock's wheels for the target (never running it) into lib/python3.13/site-packages and bin/.",
    attrs = {
        "lock": attr.label(mandatory = True, allow_single_file = True, doc = "The target's package lock."),
        "wheels": attr.label(mandatory = True, doc = "The lock's downloaded wheel files (a krunner_wheel_set's :wheels)."),
        "built_wheels": attr.label_list(allow_files = [".whl"], doc = "Wheels built here from source, one for each `built_from_source` entry of the lock (pyzmq)."),
        "compiler": attr.string(default = "python3.13", doc = "The exec side's CPython 3.13 for byte-compiling (Debian sid's python3.13 in the sid root)."),
        "_tool": attr.label(default = "//krunner/private:install_wheels", executable = True, cfg = "exec"),
    },
)
