"""`zig_cc_toolchain_config`: CcToolchainConfigInfo for `zig cc -target <triple>`."""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@rules_cc//cc:cc_toolchain_config_lib.bzl",
    "env_entry",
    "env_set",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
    "with_feature_set",
)
load("@rules_cc//cc/common:cc_common.bzl", "cc_common")

_COMPILE = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
]
_LINK = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

def _flags(actions, flags, with_features = None):
    return flag_set(
        actions = actions,
        flag_groups = [flag_group(flags = flags)],
        with_features = with_features or [],
    )

def _impl(ctx):
    features = [
        feature(
            name = "default_compile_flags",
            enabled = True,
            flag_sets = [
                # Outputs must not depend on when or where they were built.
                _flags(_COMPILE, [
                    "-Wno-builtin-macro-redefined",
                    "-D__DATE__=\"redacted\"",
                    "-D__TIMESTAMP__=\"redacted\"",
                    "-D__TIME__=\"redacted\"",
                    "-fno-ident",
                ]),
                # Everything we ship is size-optimised; sections let the linker drop dead code.
                _flags(_COMPILE, ["-Os", "-ffunction-sections", "-fdata-sections"], [with_feature_set(not_features = ["dbg"])]),
                _flags(_COMPILE, ["-O0", "-g"], [with_feature_set(features = ["dbg"])]),
            ],
        ),
        feature(
            name = "default_link_flags",
            enabled = True,
            flag_sets = [
                _flags(_LINK, ctx.attr.link_flags, [with_feature_set(not_features = ["dbg"])]),
                _flags(_LINK, [f for f in ctx.attr.link_flags if f != "-s"], [with_feature_set(features = ["dbg"])]),
            ],
        ),
        # Link actions start from the zig cache built for this target (see
        # toolchains/zig/zig_cache.bzl); the wrapper copies it into a private one.
        feature(
            name = "zig_cache_seed",
            enabled = True,
            env_sets = [env_set(
                actions = _LINK,
                env_entries = [env_entry("KRUNNER_ZIG_CACHE_SEED", ctx.file.zig_cache.path)],
            )],
        ),
        feature(name = "dbg"),
        feature(name = "opt"),
        feature(name = "fastbuild"),
    ]
    tools = {t: "{}/{}".format(ctx.attr.target, "cc" if t == "gcc" else t) for t in [
        "gcc",
        "ar",
        "ld",
        "cpp",
        "gcov",
        "nm",
        "objdump",
        "strip",
    ]}
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        toolchain_identifier = "zig-" + ctx.attr.triple,
        host_system_name = "local",
        target_system_name = ctx.attr.triple,
        target_cpu = ctx.attr.cpu,
        target_libc = ctx.attr.libc,
        compiler = "clang",
        abi_version = "unknown",
        abi_libc_version = "unknown",
        tool_paths = [tool_path(name = n, path = p) for n, p in tools.items()],
        features = features,
        cxx_builtin_include_directories = ctx.attr.builtin_include_directories,
    )

zig_cc_toolchain_config = rule(
    implementation = _impl,
    doc = "A cc toolchain config whose tools are the zig wrapper scripts in `<target>/`.",
    provides = [CcToolchainConfigInfo],
    attrs = {
        "target": attr.string(mandatory = True, doc = "Key in toolchains/zig/targets.bzl; also the wrappers' directory."),
        "triple": attr.string(mandatory = True, doc = "zig's -target triple, e.g. x86_64-linux-musl."),
        "cpu": attr.string(mandatory = True, doc = "Target CPU (x86_64 or aarch64)."),
        "libc": attr.string(mandatory = True, values = ["musl", "gnu_2_17"], doc = "Target libc."),
        "link_flags": attr.string_list(doc = "Flags for every link (toolchains/zig/targets.bzl); `-s` is dropped under `-c dbg`."),
        "zig_cache": attr.label(mandatory = True, allow_single_file = True, cfg = "exec", doc = "The zig_cache directory link actions start from; also in the toolchain's linker_files."),
        "builtin_include_directories": attr.string_list(doc = "zig's lib/, relative to the toolchain's package: its headers are declared inputs, staged at execroot-relative paths."),
    },
)
