"""One `debian_rootfs` repo (rootfs_<root>) per root in debs.lock.json, for tests."""

load("//tests/rootfs:rootfs.bzl", "debian_rootfs")

def _impl(mctx):
    for mod in mctx.modules:
        if not mod.is_root:
            fail("the test_rootfs extension is configured by the root module only")
    lock = json.decode(mctx.read(Label("//tests/rootfs:debs.lock.json")))
    for root in lock["roots"]:
        debian_rootfs(name = "rootfs_" + root, root = root)
    return mctx.extension_metadata(reproducible = True)

test_rootfs = module_extension(implementation = _impl, doc = "Minimal Debian root filesystems for the volume tests.")
