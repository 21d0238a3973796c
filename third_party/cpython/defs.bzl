"""`cpython_builds`: CPython and each library it links, built from source for one zig target.

Every library is static and position-independent, so the interpreter and its
extension modules carry their own copies and need nothing from an image but its
libc. musl builds link musl's libc dynamically (configure_make.bzl) so that the
interpreter can load extension modules; glibc builds need at most GLIBC_2.17.

x86_64 targets are built for x86-64-v2 (SSE4.2, POPCNT), the level
python-build-standalone's default x86_64 builds and upstream's static-gnu
runtime use: every x86_64 CPU since 2009 has it, and v3 (AVX2) would shut out
Atom-class and older server CPUs still found in clusters.
"""

load("//third_party/autotools:configure_make.bzl", "configure_make")
load("//toolchains/zig:targets.bzl", "TARGETS")

_CFLAGS = "-O2 -fPIC"

# CPython's configure cannot run target programs when cross-compiling; these
# are the answers for Linux. musl 1.2.2 (Alpine 3.13/3.14, the volumes' floor)
# lacks preadv2/pwritev2, which zig's musl 1.2.5 headers declare.
_CPYTHON_CACHE = {
    "ac_cv_file__dev_ptmx": "yes",
    "ac_cv_file__dev_ptc": "no",
    "ac_cv_buggy_getaddrinfo": "no",
}
_CPYTHON_CACHE_MUSL = {
    "ac_cv_func_preadv2": "no",
    "ac_cv_func_pwritev2": "no",
}

_OPENSSL_TARGET = {"x86_64": "linux-x86_64", "aarch64": "linux-aarch64"}

def _step(what, *argv, cwd = ""):
    return json.encode({"what": what, "argv": list(argv), "cwd": cwd})

def _autoconf_steps(*configure_args):
    return [
        _step("configure", "./configure", "--host={host}", "--build={build}", "--prefix={prefix}", *configure_args),
        _step("make", "make", "-j{jobs}"),
        _step("install", "make", "install", "DESTDIR={dest}"),
    ]

_REMOVE = ["share", "lib/pkgconfig", "lib/cmake", "lib/*.la", "bin"]

def cpython_builds(name, target):
    """Declares zlib_, bzip2_, xz_, libffi_, sqlite_, openssl_ and cpython_<target>.

    Args:
      name: the interpreter's target, `cpython_<target>`; the libraries share its suffix.
      target: a key of //toolchains/zig:targets.bzl.
    """
    if name != "cpython_" + target:
        fail("cpython_builds: name {} should be cpython_{}".format(name, target))
    t = TARGETS[target]
    cpu_flags = ["-mcpu=x86_64_v2"] if t.cpu == "x86_64" else []
    common = dict(target = target, cc_flags = cpu_flags, remove = _REMOVE)

    configure_make(
        name = "zlib_" + target,
        srcs = "@zlib_src//:files",
        source_marker = "@zlib_src//:PROVENANCE.json",
        env = {"CFLAGS": _CFLAGS},
        steps = [
            _step("configure", "./configure", "--static", "--prefix={prefix}"),
            _step("make", "make", "-j{jobs}", "libz.a"),
            _step("install", "make", "install", "DESTDIR={dest}"),
        ],
        **common
    )

    # bzip2 has a plain Makefile; only its library and header are needed.
    configure_make(
        name = "bzip2_" + target,
        srcs = "@bzip2//:files",
        source_marker = "@bzip2//:PROVENANCE.json",
        steps = [
            _step(
                "make",
                "make",
                "-j{jobs}",
                "libbz2.a",
                "CC=cc",
                "AR=ar",
                "RANLIB=ranlib",
                "CFLAGS=" + _CFLAGS + " -D_FILE_OFFSET_BITS=64",
            ),
            _step("install", "sh", "-c", "mkdir -p {dest}{prefix}/lib {dest}{prefix}/include && " +
                                         "cp libbz2.a {dest}{prefix}/lib/ && cp bzlib.h {dest}{prefix}/include/"),
        ],
        **common
    )

    configure_make(
        name = "xz_" + target,
        srcs = "@xz//:files",
        source_marker = "@xz//:PROVENANCE.json",
        env = {"CFLAGS": _CFLAGS},
        steps = _autoconf_steps(
            "--disable-shared",
            "--enable-static",
            "--with-pic",
            "--disable-xz",
            "--disable-xzdec",
            "--disable-lzmadec",
            "--disable-lzmainfo",
            "--disable-lzma-links",
            "--disable-scripts",
            "--disable-doc",
            "--disable-nls",
        ),
        **common
    )

    # Debian's libffi orig has no generated configure; regenerate it for either archive.
    configure_make(
        name = "libffi_" + target,
        srcs = "@libffi//:files",
        source_marker = "@libffi//:PROVENANCE.json",
        env = {"CFLAGS": _CFLAGS},
        steps = [_step("autoreconf", "autoreconf", "-fi")] + _autoconf_steps(
            "--disable-shared",
            "--enable-static",
            "--with-pic",
            "--disable-docs",
            "--disable-multi-os-directory",
            # Build in the source tree, not a <host>/ directory that the top-level
            # Makefile fails to forward to when --host is not config.sub's spelling.
            "--disable-builddir",
            # aarch64: libffi's static trampolines (the default there) crashed
            # every ctypes callback (CFUNCTYPE) of our interpreter, where pbs's
            # works; dynamic trampolines, as x86_64 uses, do not.
            *(["--disable-exec-static-tramp"] if t.cpu == "aarch64" else [])
        ),
        **common
    )

    # The amalgamation (sqlite3.c) is generated first when the tree is SQLite's
    # full source (the offline substitute), with the bundled jimsh as its TCL.
    configure_make(
        name = "sqlite_" + target,
        srcs = "@sqlite//:files",
        source_marker = "@sqlite//:PROVENANCE.json",
        steps = [
            _step(
                "generate the amalgamation",
                "sh",
                "-c",
                "test -f sqlite3.c || (CC=build-cc ./configure --disable-tcl >/dev/null && make sqlite3.c)",
            ),
            _step(
                "compile",
                "cc",
                "-O2",
                "-fPIC",
                "-DSQLITE_ENABLE_FTS3",
                "-DSQLITE_ENABLE_FTS3_PARENTHESIS",
                "-DSQLITE_ENABLE_FTS4",
                "-DSQLITE_ENABLE_FTS5",
                "-DSQLITE_ENABLE_RTREE",
                "-DSQLITE_ENABLE_DBSTAT_VTAB",
                "-DSQLITE_ENABLE_MATH_FUNCTIONS",
                "-DSQLITE_THREADSAFE=1",
                "-DSQLITE_OMIT_LOAD_EXTENSION",
                "-c",
                "sqlite3.c",
                "-o",
                "sqlite3.o",
            ),
            _step("archive", "ar", "rcs", "libsqlite3.a", "sqlite3.o"),
            _step("install", "sh", "-c", "mkdir -p {dest}{prefix}/lib {dest}{prefix}/include && " +
                                         "cp libsqlite3.a {dest}{prefix}/lib/ && cp sqlite3.h sqlite3ext.h {dest}{prefix}/include/"),
        ],
        **common
    )

    # OpenSSL reads certificates from /etc/ssl, where images keep them.
    # The interpreter exports its symbols for extension modules (-export-dynamic);
    # OpenSSL's 9,000 are not for them (a wheel that bundles its own OpenSSL must
    # not bind to ours), so they are hidden (zig's linker has no --exclude-libs).
    # With one section per function and object, the interpreter's link
    # (--gc-sections, CPython's LDFLAGS below) keeps only what _ssl and _hashlib reach.
    configure_make(
        name = "openssl_" + target,
        srcs = "@openssl//:files",
        source_marker = "@openssl//:PROVENANCE.json",
        steps = [
            _step(
                "configure",
                "perl",
                "./Configure",
                _OPENSSL_TARGET[t.cpu],
                "--prefix={prefix}",
                "--openssldir=/etc/ssl",
                "--libdir=lib",
                "no-shared",
                "no-module",
                "no-tests",
                "no-docs",
                "-fPIC",
            ),
            _step("make", "make", "-j{jobs}", "build_libs"),
            _step("install", "make", "install_dev", "DESTDIR={dest}"),
        ],
        target = target,
        cc_flags = cpu_flags + ["-fvisibility=hidden", "-ffunction-sections", "-fdata-sections"],
        remove = _REMOVE,
    )

    deps = [":{}_{}".format(lib, target) for lib in ("zlib", "bzip2", "xz", "libffi", "sqlite", "openssl")]
    env = {
        "CPPFLAGS": "-I{deps}/include",
        # Drops what nothing reaches: hidden OpenSSL code that _ssl and _hashlib do not use.
        "LDFLAGS": "-L{deps}/lib -Wl,--gc-sections",
        "LIBS": "-lpthread -ldl",
        "PKG_CONFIG": "false",
        "LIBFFI_CFLAGS": "-I{deps}/include",
        "LIBFFI_LIBS": "-L{deps}/lib -lffi",
        "LIBSQLITE3_CFLAGS": "-I{deps}/include",
        "LIBSQLITE3_LIBS": "-L{deps}/lib -lsqlite3 -lm",
        "LIBLZMA_CFLAGS": "-I{deps}/include",
        "LIBLZMA_LIBS": "-L{deps}/lib -llzma",
        "BZIP2_CFLAGS": "-I{deps}/include",
        "BZIP2_LIBS": "-L{deps}/lib -lbz2",
        "ZLIB_CFLAGS": "-I{deps}/include",
        "ZLIB_LIBS": "-L{deps}/lib -lz",
    }
    env.update(_CPYTHON_CACHE)
    if t.libc == "musl":
        env.update(_CPYTHON_CACHE_MUSL)
    configure_make(
        name = name,
        srcs = "@cpython//:files",
        source_marker = "@cpython//:PROVENANCE.json",
        deps = deps,
        env = env,
        target = target,
        # __DATE__ and __TIME__ (sys.version) come from SOURCE_DATE_EPOCH.
        cc_flags = cpu_flags + ["-Wno-date-time"],
        steps = [
            # _ssl and _hashlib each link all of libcrypto statically (7 and 6 MB
            # as extension modules); built into the interpreter, as pbs does, they
            # share one copy. makesetup takes Setup.local first, and its first
            # rule for a module wins over Setup.stdlib's shared one.
            _step(
                "build _ssl and _hashlib in",
                "sh",
                "-c",
                "printf '*static*\\n_ssl _ssl.c\\n_hashlib _hashopenssl.c\\n' > Modules/Setup.local",
            ),
            _step(
                "configure",
                "./configure",
                "--host={host}",
                "--build={build}",
                "--prefix={prefix}",
                "--with-build-python=python3.13",
                "--without-ensurepip",
                "--disable-test-modules",
                "--without-readline",
                "--with-openssl={deps}",
                "--with-openssl-rpath=no",
                # The copies in CPython's source (the lock's bundled components).
                "--with-system-expat=no",
                "--with-system-libmpdec=no",
            ),
            _step("make", "make", "-j{jobs}"),
            # The volume's .pyc files are compiled later, as unchecked-hash pycs
            # that stay valid under the volume's fixed mtimes: skip install's
            # compileall (its only use of PYTHON_FOR_BUILD in `install`).
            _step("install", "make", "install", "DESTDIR={dest}", "PYTHON_FOR_BUILD=true"),
        ],
        remove = ["share", "lib/pkgconfig"],
    )
