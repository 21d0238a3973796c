"""Module extension that declares the `zig_sdk` repository (fetched on first C build)."""

load("//toolchains/zig:zig_sdk.bzl", "zig_sdk")

def _zig_impl(mctx):
    for mod in mctx.modules:
        if not mod.is_root:
            fail("the zig extension is configured by the root module only, not by " + mod.name)
    zig_sdk(name = "zig_sdk")
    return mctx.extension_metadata(reproducible = True)

zig = module_extension(
    implementation = _zig_impl,
    doc = "The zig C toolchain from PyPI's ziglang wheel (see zig.lock.json).",
)
