"""`configure_make`: a configure-and-make source tree built with zig for one target.

CPython and the libraries it links ship their own build systems (autoconf,
OpenSSL's Configure, plain Makefiles), which know those projects' platform
quirks better than a rewrite in BUILD files would. This rule runs them as one
action per library and target, with zig as the only compiler, and declares the
install tree as a directory output that later builds take as a dependency.
The action runs at a fixed path in a private namespace (configure_make.py), so
its outputs do not depend on where Bazel put the execroot.
"""

load("//toolchains/zig:targets.bzl", "TARGETS")

# autoconf's name for each zig target (`--host`).
_AUTOCONF_HOST = {
    "x86_64_linux_musl": "x86_64-linux-musl",
    "aarch64_linux_musl": "aarch64-linux-musl",
    "x86_64_linux_gnu_2_17": "x86_64-linux-gnu",
    "aarch64_linux_gnu_2_17": "aarch64-linux-gnu",
}

# musl builds link musl's libc dynamically, so that the interpreter can load
# extension modules; everything else they link is static.
_CC_FLAGS = {
    "musl": ["-dynamic"],
    "gnu_2_17": [],
}

ConfigureMakeInfo = provider(
    doc = "An install tree (include/, lib/, ...) built for one zig target.",
    fields = {
        "tree": "The directory output.",
        "target": "The zig target it was built for.",
    },
)

def _impl(ctx):
    target = ctx.attr.target
    if target not in TARGETS:
        fail("{}: unknown zig target {}; one of {}".format(ctx.label, target, sorted(TARGETS)))
    for dep in ctx.attr.deps:
        if dep[ConfigureMakeInfo].target != target:
            fail("{}: dependency {} was built for {}, not {}".format(ctx.label, dep.label, dep[ConfigureMakeInfo].target, target))
    out = ctx.actions.declare_directory(ctx.attr.name)
    plan = ctx.actions.declare_file(ctx.attr.name + ".plan.json")
    deps = [dep[ConfigureMakeInfo].tree for dep in ctx.attr.deps]
    extra = {}
    for target_, rel in ctx.attr.extra_srcs.items():
        files = target_[DefaultInfo].files.to_list()
        if len(files) != 1:
            fail("{}: extra_srcs {} must be one file, not {}".format(ctx.label, target_.label, len(files)))
        extra[files[0]] = rel
    fields = dict(
        name = ctx.attr.name,
        source = ctx.file.source_marker.path,
        zig = ctx.executable._zig.path,
        triple = TARGETS[target].triple,
        host = _AUTOCONF_HOST[target],
        cc_flags = _CC_FLAGS[TARGETS[target].libc] + ctx.attr.cc_flags,
        deps = [d.path for d in deps],
        env = ctx.attr.env,
        steps = [json.decode(s) for s in ctx.attr.steps],
        prefix = ctx.attr.prefix,
        remove = ctx.attr.remove,
        jobs = ctx.attr.jobs,
        out = out.path,
    )

    # A C-only build's plan and driver are what they were before C++ builds
    # existed, so its action key (and every cache entry) stays the same.
    extended = ctx.attr.cxx or bool(extra)
    if extended:
        fields.update(
            cxx = ctx.attr.cxx,
            cxx_flags = ctx.attr.cxx_flags,
            cxx_runtime_flags = ctx.attr.cxx_runtime_flags,
            extra = {f.path: rel for f, rel in extra.items()},
        )
    elif ctx.attr.cxx_flags or ctx.attr.cxx_runtime_flags:
        fail("{}: cxx_flags and cxx_runtime_flags need cxx = True".format(ctx.label))
    ctx.actions.write(plan, json.encode_indent(struct(**fields), indent = "  ") + "\n")
    ctx.actions.run(
        executable = ctx.executable._driver_cxx if extended else ctx.executable._driver,
        arguments = [plan.path],
        inputs = depset([plan, ctx.file.source_marker] + ctx.files.srcs + deps + extra.keys(), transitive = [ctx.attr._zig_lib[DefaultInfo].files]),
        tools = [ctx.executable._zig],
        outputs = [out],
        mnemonic = "ConfigureMake",
        progress_message = "Building {} for {} (configure and make)".format(ctx.attr.name, TARGETS[target].triple),
    )
    return [
        DefaultInfo(files = depset([out])),
        ConfigureMakeInfo(tree = out, target = target),
    ]

configure_make = rule(
    implementation = _impl,
    doc = "Runs a source tree's own configure/make for one zig target; the output is its install tree.",
    attrs = {
        "srcs": attr.label(mandatory = True, doc = "All files of the source repository (its :files)."),
        "source_marker": attr.label(mandatory = True, allow_single_file = True, doc = "A file at the source tree's root (its PROVENANCE.json): the tree is its directory."),
        "target": attr.string(mandatory = True, doc = "The zig target (a key of //toolchains/zig:targets.bzl)."),
        "deps": attr.label_list(providers = [ConfigureMakeInfo], doc = "Install trees for the same target, merged at {deps}."),
        "steps": attr.string_list(mandatory = True, doc = "JSON objects {\"what\", \"argv\", \"cwd\"}, run in order in the source tree; argv may use {prefix}, {deps}, {dest}, {jobs}, {build}, {host}, {src}."),
        "env": attr.string_dict(doc = "Extra environment for every step (values may use the same placeholders)."),
        "cc_flags": attr.string_list(doc = "Flags added to every zig cc (and zig c++) call, after the target's own."),
        "cxx": attr.bool(default = False, doc = "Give the build a C++ compiler: `c++`/`g++`/`clang++` run zig c++, which links zig's libc++ and libc++abi statically. Off, `c++` fails, so a C library that probes for C++ cannot pick it up by accident."),
        "cxx_flags": attr.string_list(doc = "Flags added to every zig c++ call only, after cc_flags."),
        "cxx_runtime_flags": attr.string_list(doc = "For builds that link zig's libc++ (cxx): the link steps' flags, such as [\"-O2\", \"-g0\", \"-shared\"]. A probe is linked with them on one CPU before the steps, so zig builds libc++ and libc++abi once, in a fixed order, keyed as the real link needs them. Empty: no warming (the build links no C++ runtime)."),
        "extra_srcs": attr.label_keyed_string_dict(allow_files = True, doc = "Single files built elsewhere (say, Cython's C output), each copied to the given path inside the source tree before the first step."),
        "prefix": attr.string(default = "/opt/backend.ai", doc = "The install prefix: where the files live at run time."),
        "remove": attr.string_list(doc = "Globs under the prefix left out of the output (docs, libtool archives)."),
        # Bazel counts the action as one CPU: configure, much of each build, is serial.
        "jobs": attr.int(default = 2, doc = "make -j."),
        "_driver": attr.label(default = "//third_party/autotools:configure_make", executable = True, cfg = "exec"),
        "_driver_cxx": attr.label(default = "//third_party/autotools:configure_make_cxx", executable = True, cfg = "exec"),
        "_zig": attr.label(default = "@zig_sdk//:zig/ziglang/zig", executable = True, cfg = "exec", allow_single_file = True),
        "_zig_lib": attr.label(default = "@zig_sdk//:lib_for_linux"),
    },
)
