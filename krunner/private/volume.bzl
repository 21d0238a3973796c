"""`krunner_volume`: the /opt/backend.ai tree as a deterministic .tar.xz."""

def _krunner_volume_impl(ctx):
    out = ctx.actions.declare_file(ctx.attr.name + ".tar.xz")
    args = ctx.actions.args()
    args.use_param_file("@%s", use_always = True)
    args.set_param_file_format("multiline")
    args.add("--out", out)
    args.add("--arch", ctx.attr.arch)
    args.add("--xz-preset", str(ctx.attr.xz_preset))
    inputs = []
    for tree in ctx.attr.trees:
        for f in tree[DefaultInfo].files.to_list():
            args.add("--tree", f.path)
            inputs.append(f)
    for target, dest in ctx.attr.files.items():
        f = target[DefaultInfo].files.to_list()
        if len(f) != 1:
            fail("{} must provide exactly one file for {}, got {}".format(target.label, dest, len(f)))
        args.add("--file", "{}={}".format(f[0].path, dest))
        inputs.append(f[0])
    for d in ctx.attr.empty_dirs:
        args.add("--dir", d)
    if ctx.file.python_launcher:
        args.add("--python-launcher", "{}=python{}".format(ctx.file.python_launcher.path, ctx.attr.python_version))
        inputs.append(ctx.file.python_launcher)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = inputs,
        outputs = [out],
        mnemonic = "KrunnerVolume",
        progress_message = "Writing krunner volume %{output}",
    )
    return [DefaultInfo(files = depset([out]))]

krunner_volume = rule(
    implementation = _krunner_volume_impl,
    doc = """A krunner volume: runtime, packages, ttyd and mount points in one .tar.xz.

Members are relative to the volume root (`./bin/python3`), sorted, owned by 0:0
with a fixed mtime; every ELF inside must be built for `arch`.""",
    attrs = {
        "arch": attr.string(mandatory = True, values = ["x86_64", "aarch64"], doc = "The volume's CPU architecture; checked against every ELF inside."),
        "trees": attr.label_list(doc = "Targets whose outputs are directories laid out as the volume root (runtime, packages)."),
        "files": attr.label_keyed_string_dict(allow_files = True, doc = "Single files and their volume paths; append ':x' to the path for an executable."),
        "empty_dirs": attr.string_list(doc = "Empty directories to create (the agent's mount points)."),
        "python_launcher": attr.label(
            allow_single_file = True,
            doc = "A static launcher (//krunner/launcher) that replaces the runtime's bin/python and bin/python3 " +
                  "links and runs bin/python<python_version> with -E, so the image's PYTHON* variables " +
                  "do not steer the interpreter.",
        ),
        "python_version": attr.string(doc = "X.Y of the runtime's interpreter, which python_launcher runs."),
        "xz_preset": attr.int(
            default = 9,
            values = list(range(10)),
            doc = "xz compression preset. 9 (a 64 MiB dictionary) spans a whole volume, so repeats far apart " +
                  "(each extension module's copy of a static library, a .py and its .pyc) compress once: " +
                  "10% smaller than 6, for 65 MiB of memory in the agent's extractor (`tar xJf`).",
        ),
        "_tool": attr.label(default = "//krunner/private:build_volume", executable = True, cfg = "exec"),
    },
)
