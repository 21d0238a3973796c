"""`image_test`: a pytest test that runs a volume inside one of the test images (tests/rootfs)."""

load("//tools/testing:defs.bzl", "pytest_test")

_DEB_ARCH = {"aarch64": "arm64", "x86_64": "amd64"}

def image_test(name, src, distro, arch, image, env = {}, data = [], deps = []):
    """A test of `//krunner:<distro>_volume_<arch>` in the root `@rootfs_<image>_<deb arch>`.

    The test reads ARCH, IMAGE, ROOTFS (the root's marker file) and VOLUME from
    its environment. aarch64 runs under qemu-user, about ten times slower than
    x86_64 here, hence `large` (a long timeout) for it. `no-sandbox`:
    support.image maps uids 0-65535 into its own user namespace, which the
    linux-sandbox's user namespace (only root mapped) cannot grant; each image
    still gets its own network namespace with only loopback.

    Args:
      name: the test's name.
      src: the test file.
      distro: static_gnu or alpine.
      arch: x86_64 or aarch64.
      image: the root's name without its Debian architecture, e.g. trixie_glibc.
      env: more environment for the test.
      data: more files the test reads.
      deps: more libraries the test imports (//tests/support is always there).
    """
    rootfs = "@rootfs_{}_{}//:ROOT".format(image, _DEB_ARCH[arch])
    pytest_test(
        name = name,
        size = "large" if arch == "aarch64" else "medium",
        srcs = [src],
        data = data + [
            "//krunner:{}_volume_{}".format(distro, arch),
            rootfs,
        ],
        env = dict(env, **{
            "ARCH": arch,
            "IMAGE": "{}_{}".format(image, _DEB_ARCH[arch]),
            "ROOTFS": "$(rlocationpath {})".format(rootfs),
            "VOLUME": "$(rlocationpath //krunner:{}_volume_{})".format(distro, arch),
        }),
        deps = deps + ["//tests/support"],
        tags = ["no-sandbox"],
    )
