"""`libzmq_build`: libzmq as a static, position-independent library for one zig target.

The source is GitHub's tag archive (Debian's orig has the same bytes), which has
no generated `configure`: autoreconf makes it, with the sid root's autotools and
stand-ins for pkg-config's macros (pkg.m4: every check that uses them is off).
Only the library is built (`make src/libzmq.la`), not the tools or tests.

Off: CURVE and libsodium (the runner never enables CURVE), the draft API,
WebSocket transports, perf tools, libbsd, libunwind and the docs. Probes that
must run a program (getrandom) say no when cross-compiling, as they do here,
so the library stays within glibc 2.17 and musl 1.2.2.
"""

load("//third_party/autotools:configure_make.bzl", "configure_make")
load("//toolchains/zig:targets.bzl", "TARGETS")

# -g0: no debug info (it would carry paths and triple the archive's size).
# Sections per function, so the final link drops what pyzmq never calls.
_FLAGS = "-O2 -fPIC -g0 -ffunction-sections -fdata-sections"

def _step(what, *argv):
    return json.encode({"what": what, "argv": list(argv)})

def libzmq_build(name, target):
    """Declares libzmq for one zig target.

    Args:
      name: the target's name (`libzmq_<target>` by convention).
      target: a key of //toolchains/zig:targets.bzl.
    """
    t = TARGETS[target]
    configure_make(
        name = name,
        srcs = "@libzmq//:files",
        source_marker = "@libzmq//:PROVENANCE.json",
        target = target,
        cxx = True,
        extra_srcs = {"//third_party/libzmq:pkg.m4": "config/pkg.m4"},
        cc_flags = ["-mcpu=x86_64_v2"] if t.cpu == "x86_64" else [],
        env = {
            "CFLAGS": _FLAGS,
            "CXXFLAGS": _FLAGS,
            # Only configure's probes link C++ programs here (the library is a
            # static archive), and none of them needs the C++ runtime: without
            # -nostdlib++, zig would build libc++ for each probe's cache first.
            "LDFLAGS": "-nostdlib++",
        },
        steps = [
            _step("autoreconf", "autoreconf", "-fi"),
            _step(
                "configure",
                "./configure",
                "--host={host}",
                "--build={build}",
                "--prefix={prefix}",
                "--disable-shared",
                "--enable-static",
                "--with-pic",
                "--disable-curve",
                "--disable-curve-keygen",
                "--without-libsodium",
                "--disable-drafts",
                "--disable-ws",
                "--disable-perf",
                "--disable-libbsd",
                "--disable-libunwind",
                "--without-docs",
                "--disable-Werror",
            ),
            _step("make", "make", "-j{jobs}", "src/libzmq.la"),
            _step("install", "sh", "-c", "mkdir -p {dest}{prefix}/lib {dest}{prefix}/include && " +
                                         "cp src/.libs/libzmq.a {dest}{prefix}/lib/ && " +
                                         "cp include/zmq.h include/zmq_utils.h {dest}{prefix}/include/"),
        ],
    )
