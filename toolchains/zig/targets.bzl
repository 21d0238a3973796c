"""The C targets the zig toolchain serves: zig triple and Bazel constraints."""

TARGETS = {
    "x86_64_linux_musl": struct(
        triple = "x86_64-linux-musl",
        cpu = "x86_64",
        libc = "musl",
    ),
    "aarch64_linux_musl": struct(
        triple = "aarch64-linux-musl",
        cpu = "aarch64",
        libc = "musl",
    ),
    "x86_64_linux_gnu_2_17": struct(
        triple = "x86_64-linux-gnu.2.17",
        cpu = "x86_64",
        libc = "gnu_2_17",
    ),
    "aarch64_linux_gnu_2_17": struct(
        triple = "aarch64-linux-gnu.2.17",
        cpu = "aarch64",
        libc = "gnu_2_17",
    ),
}
