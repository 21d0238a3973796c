"""`ssh_image_test`: our dropbearmulti and sftp-server for one CPU, served from one test image."""

load("//tools/testing:defs.bzl", "pytest_test")

_DEB_ARCH = {"aarch64": "arm64", "x86_64": "amd64"}

def ssh_image_test(name, arch, image):
    """test_ssh_in_image.py with the `arch` binaries in `@rootfs_<image>_<deb arch>`.

    The OpenSSH client runs on the build machine's CPU, from the pinned
    trixie_ssh_client root of that CPU. `no-sandbox` and sizes as image_test
    (tests/krunner/image_test.bzl): the image maps uids 0-65535, and aarch64 runs
    under qemu-user.

    Args:
      name: the test's name.
      arch: x86_64 or aarch64: which binaries, and the image's CPU.
      image: the root's name without its Debian architecture, e.g. trixie_musl.
    """
    rootfs = "@rootfs_{}_{}//:ROOT".format(image, _DEB_ARCH[arch])
    binaries = {
        "DROPBEARMULTI": "//krunner/kernel_binary_ssh:dropbearmulti_" + arch,
        "SFTP_SERVER": "//krunner/kernel_binary_ssh:sftp_server_" + arch,
    }
    clients = {
        "SSH_CLIENT_ROOTFS_" + cpu.upper(): "@rootfs_trixie_ssh_client_{}//:ROOT".format(deb)
        for cpu, deb in _DEB_ARCH.items()
    }
    pytest_test(
        name = name,
        size = "large" if arch == "aarch64" else "medium",
        srcs = ["test_ssh_in_image.py"],
        data = [rootfs] + binaries.values() + clients.values(),
        env = dict(
            {var: "$(rlocationpath {})".format(label) for var, label in dict(binaries, **clients).items()},
            ARCH = arch,
            ROOTFS = "$(rlocationpath {})".format(rootfs),
        ),
        deps = [
            ":ssh_session",
            "//tests/support",
        ],
        tags = ["no-sandbox"],
    )
