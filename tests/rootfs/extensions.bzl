"""One `debian_rootfs` repo (rootfs_<root>) per root in debs.lock.json, for tests."""

load("//tests/rootfs:rootfs.bzl", "debian_rootfs")

ROOTS = ["glibc_amd64", "glibc_arm64", "musl_amd64", "musl_arm64"]

def _impl(mctx):
    for mod in mctx.modules:
        if not mod.is_root:
            fail("the test_rootfs extension is configured by the root module only")
    for root in ROOTS:
        debian_rootfs(name = "rootfs_" + root, root = root)
    return mctx.extension_metadata(reproducible = True)

test_rootfs = module_extension(implementation = _impl, doc = "Minimal Debian root filesystems for the volume tests.")
