"""One `krunner_wheel_set` repo per volume target (krunner_wheels_<target>), fetched on demand."""

load("//krunner/packages:wheel_set.bzl", "krunner_wheel_set")

TARGETS = ["alpine_aarch64", "alpine_x86_64", "static_gnu_aarch64", "static_gnu_x86_64"]

def _impl(mctx):
    for mod in mctx.modules:
        if not mod.is_root:
            fail("the krunner_packages extension is configured by the root module only, not by " + mod.name)
    for target in TARGETS:
        krunner_wheel_set(
            name = "krunner_wheels_" + target,
            lock = "//krunner/packages:{}.lock.json".format(target),
        )
    return mctx.extension_metadata(reproducible = True)

krunner_packages = module_extension(
    implementation = _impl,
    doc = "The runner's wheels for each volume target, from krunner/packages/*.lock.json.",
)
