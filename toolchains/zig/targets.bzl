"""The C targets the zig toolchain serves: zig triple, Bazel constraints, link flags."""

# How every executable is linked, outside `-c dbg`. The zig cache that link
# actions start from (zig_cache.bzl) is warmed with exactly these flags: zig keys
# the libc and compiler-rt it builds on them (`-s` builds them without debug
# info, which would otherwise carry this machine's paths).
_LINK_FLAGS = ["-Wl,--gc-sections", "-s"]

TARGETS = {
    "x86_64_linux_musl": struct(
        triple = "x86_64-linux-musl",
        cpu = "x86_64",
        libc = "musl",
        link_flags = _LINK_FLAGS + ["-static"],
    ),
    "aarch64_linux_musl": struct(
        triple = "aarch64-linux-musl",
        cpu = "aarch64",
        libc = "musl",
        link_flags = _LINK_FLAGS + ["-static"],
    ),
    "x86_64_linux_gnu_2_17": struct(
        triple = "x86_64-linux-gnu.2.17",
        cpu = "x86_64",
        libc = "gnu_2_17",
        link_flags = _LINK_FLAGS,
    ),
    "aarch64_linux_gnu_2_17": struct(
        triple = "aarch64-linux-gnu.2.17",
        cpu = "aarch64",
        libc = "gnu_2_17",
        link_flags = _LINK_FLAGS,
    ),
}
