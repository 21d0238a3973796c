"""pyzmq built from its sdist for each zig target: `cython_c`, `pyzmq_wheel` and `pyzmq_builds`.

pyzmq's manylinux wheels link libzmq against the image's libstdc++ and libgcc_s,
which a minimal glibc image lacks. Here:
  1. `cython_c` translates the Cython backend (zmq/backend/cython/_zmq.py) to C
     on the exec side, once for all targets, with the pinned Cython wheel;
  2. `pyzmq_ext_<target>` (a configure_make action) compiles that C against the
     target's CPython headers (//third_party/cpython) and links it with
     libzmq_<target> and zig's libc++/libc++abi, all static, into one extension
     module that exports only PyInit__zmq (pyzmq.map). It needs nothing but the
     image's libc: glibc <= 2.17, or musl;
  3. `pyzmq_wheel_<target>` packs the sdist's `zmq` package and that module into
     a cp313 wheel, which the volume's installer takes as the lock says
     (`built_from_source` entries in krunner/packages/<target>.lock.json).
"""

load("//third_party/autotools:configure_make.bzl", "configure_make")
load("//toolchains/zig:targets.bzl", "TARGETS")

PYTHON_TAG = "cp313"

# Per zig target: the extension's SOABI (musl's as patched in
# //third_party/cpython) and the wheel's platform tags.
WHEEL_PLATFORMS = {
    "x86_64_linux_gnu_2_17": struct(soabi = "cpython-313-x86_64-linux-gnu", platforms = ["manylinux_2_17_x86_64", "manylinux2014_x86_64"]),
    "aarch64_linux_gnu_2_17": struct(soabi = "cpython-313-aarch64-linux-gnu", platforms = ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]),
    "x86_64_linux_musl": struct(soabi = "cpython-313-x86_64-linux-musl", platforms = ["musllinux_1_2_x86_64"]),
    "aarch64_linux_musl": struct(soabi = "cpython-313-aarch64-linux-musl", platforms = ["musllinux_1_2_aarch64"]),
}

def wheel_filename(version, target):
    """The built wheel's file name for a zig target (what the package locks name)."""
    return "pyzmq-{}-{}-{}-{}.whl".format(version, PYTHON_TAG, PYTHON_TAG, ".".join(WHEEL_PLATFORMS[target].platforms))

def _cython_c_impl(ctx):
    out = ctx.actions.declare_file(ctx.attr.name + ".c")
    args = ctx.actions.args()
    args.add("--source-root", ctx.file.source_marker.dirname)
    args.add("--module", ctx.attr.module)
    args.add("--input", ctx.attr.input)
    args.add("--output", out)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.srcs + [ctx.file.source_marker],
        outputs = [out],
        mnemonic = "Cythonize",
        progress_message = "Cythonizing {} for %{{label}}".format(ctx.attr.input),
    )
    return [DefaultInfo(files = depset([out]))]

cython_c = rule(
    implementation = _cython_c_impl,
    doc = "One Cython module translated to C (<name>.c) on the exec side, with the pinned Cython wheel.",
    attrs = {
        "srcs": attr.label(mandatory = True, doc = "Every file of the source tree (its .pxd, .pxi and headers are cimported)."),
        "source_marker": attr.label(mandatory = True, allow_single_file = True, doc = "A file at the source tree's root: Cython runs there, with relative paths."),
        "input": attr.string(mandatory = True, doc = "The Cython source, relative to the tree's root."),
        "module": attr.string(mandatory = True, doc = "The extension's full module name (--module-name)."),
        "_tool": attr.label(default = "//third_party/pyzmq:cythonize", executable = True, cfg = "exec"),
    },
)

def _pyzmq_wheel_impl(ctx):
    t = WHEEL_PLATFORMS[ctx.attr.target]
    name = wheel_filename(ctx.attr.version, ctx.attr.target)
    out = ctx.actions.declare_file("{}/{}".format(ctx.attr.name, name))
    ext_tree = ctx.file.extension
    args = ctx.actions.args()
    args.add("--sdist-root", ctx.file.source_marker.dirname)
    args.add("--package", "zmq")
    args.add("--extension", "{}/_zmq.so=zmq/backend/cython/_zmq.{}.so".format(ext_tree.path, t.soabi))
    args.add_all(ctx.attr.license_texts, before_each = "--license")
    for f in ctx.files.linked_licenses:
        args.add("--extra-license", "{}=licenses/{}/{}".format(f.path, ctx.attr.linked_name, f.basename))
    for p in t.platforms:
        args.add("--tag", "{}-{}-{}".format(PYTHON_TAG, PYTHON_TAG, p))
    args.add("--out", out)
    args.add("--expect-name", name)
    ctx.actions.run(
        executable = ctx.executable._tool,
        arguments = [args],
        inputs = ctx.files.srcs + [ctx.file.source_marker, ext_tree] + ctx.files.linked_licenses,
        outputs = [out],
        mnemonic = "PyzmqWheel",
        progress_message = "Packing %{label}",
    )
    return [DefaultInfo(files = depset([out]))]

pyzmq_wheel = rule(
    implementation = _pyzmq_wheel_impl,
    doc = "pyzmq's wheel for one zig target: the sdist's zmq package plus the extension built here.",
    attrs = {
        "srcs": attr.label(mandatory = True, doc = "Every file of the sdist."),
        "source_marker": attr.label(mandatory = True, allow_single_file = True, doc = "A file at the sdist's root (has PKG-INFO)."),
        "extension": attr.label(mandatory = True, allow_single_file = True, doc = "The configure_make tree holding _zmq.so."),
        "target": attr.string(mandatory = True, values = sorted(WHEEL_PLATFORMS.keys()), doc = "The zig target the extension was built for."),
        "version": attr.string(mandatory = True, doc = "pyzmq's version (the sdist's), for the file name."),
        "license_texts": attr.string_list(default = ["LICENSE.md", "licenses/LICENSE.tornado.txt"], doc = "The sdist's license texts (relative paths), as its own wheels ship them."),
        "linked_licenses": attr.label_list(allow_files = True, doc = "License texts of the library linked in (libzmq's COPYING, COPYING.LESSER)."),
        "linked_name": attr.string(default = "libzmq", doc = "The folder under dist-info/licenses/licenses/ for linked_licenses."),
        "_tool": attr.label(default = "//third_party/pyzmq:build_wheel", executable = True, cfg = "exec"),
    },
)

# -g0 and -s (the wrapper strips every link): no debug info or paths in the module.
_CFLAGS = ["-O2", "-fPIC", "-g0", "-ffunction-sections", "-fdata-sections", "-DZMQ_STATIC"]

# The link's optimisation level also selects how zig builds libc++ (without it:
# a debug build); -fPIC and -shared as the module needs it.
_LINK_FLAGS = ["-O2", "-g0", "-fPIC", "-shared"]

def _step(what, *argv):
    return json.encode({"what": what, "argv": list(argv)})

def pyzmq_builds(name, target, version):
    """Declares pyzmq_ext_<target> (the extension module) and pyzmq_wheel_<target>.

    Args:
      name: the wheel's target, `pyzmq_wheel_<target>`.
      target: a key of //toolchains/zig:targets.bzl.
      version: pyzmq's version, from the sdist lock.
    """
    if name != "pyzmq_wheel_" + target:
        fail("pyzmq_builds: name {} should be pyzmq_wheel_{}".format(name, target))
    t = TARGETS[target]
    libs = ["-lpthread", "-lrt"] if t.libc == "gnu_2_17" else []
    configure_make(
        name = "pyzmq_ext_" + target,
        srcs = "@pypi_sdist_pyzmq//:files",
        source_marker = "@pypi_sdist_pyzmq//:PROVENANCE.json",
        target = target,
        cxx = True,
        cxx_runtime_flags = _LINK_FLAGS,
        cc_flags = ["-mcpu=x86_64_v2"] if t.cpu == "x86_64" else [],
        deps = [
            "//third_party/libzmq:libzmq_" + target,
            "//third_party/cpython:cpython_" + target,
        ],
        extra_srcs = {
            ":zmq_backend_cython": "krunner/_zmq.c",
            ":pyzmq.map": "krunner/pyzmq.map",
        },
        steps = [
            _step("compile", "cc", *(_CFLAGS + [
                "-I{deps}/include/python3.13",
                "-I{deps}/include",
                "-Izmq/utils",
                "-c",
                "krunner/_zmq.c",
                "-o",
                "krunner/_zmq.o",
            ])),
            # zig c++ links its libc++ and libc++abi statically; the version
            # script keeps every symbol but PyInit__zmq local.
            _step("link", "c++", *(_LINK_FLAGS + [
                "-o",
                "krunner/_zmq.so",
                "krunner/_zmq.o",
                "{deps}/lib/libzmq.a",
                "-Wl,--version-script=krunner/pyzmq.map",
                "-Wl,--gc-sections",
            ] + libs)),
            _step("install", "sh", "-c", "mkdir -p {dest}{prefix} && cp krunner/_zmq.so {dest}{prefix}/_zmq.so"),
        ],
    )
    pyzmq_wheel(
        name = name,
        srcs = "@pypi_sdist_pyzmq//:files",
        source_marker = "@pypi_sdist_pyzmq//:PROVENANCE.json",
        extension = ":pyzmq_ext_" + target,
        target = target,
        version = version,
        linked_licenses = ["//third_party/libzmq:license_files"],
    )
