"""`tmux_builds`: tmux 3.5a with libevent 2.1 and ncurses 6.5, static musl, for one zig target.

Each of the three is built by its own configure and make (`configure_make`), as
the agent's scripts/agent/build-tmux.sh builds them, with zig as the compiler:

- libevent: the static core library only (no OpenSSL, samples or tests).
- ncurses: the static wide-character library only (no programs, no terminfo
  database: the image's is read). terminfo is searched in `$TERMINFO`,
  `$HOME/.terminfo` (the agent mounts `terminfo.alpine3.8` there in musl
  images), `$TERMINFO_DIRS`, then /etc/terminfo, /lib/terminfo and
  /usr/share/terminfo. The terminals a browser terminal or a multiplexer
  reports are compiled in as fallbacks, used only when no directory has the
  entry, so tmux also starts in images without any terminfo (distroless, or
  the bare test images).
- tmux: linked statically against both (`--enable-static`), stripped.
"""

load("//third_party/autotools:configure_make.bzl", "configure_make")

_OPT = "-Os -ffunction-sections -fdata-sections"

# Compiled-in terminal descriptions (ncurses --with-fallbacks), from ncurses's own
# misc/terminfo.src: xterm.js (ttyd) reports xterm-256color; tmux and screen set
# their own TERM inside panes.
FALLBACK_TERMINALS = [
    "xterm-256color",
    "xterm",
    "tmux-256color",
    "tmux",
    "screen-256color",
    "screen",
    "vt100",
    "linux",
]

TERMINFO_DIRS = "/etc/terminfo:/lib/terminfo:/usr/share/terminfo"

def _step(what, *argv, cwd = ""):
    return json.encode({"what": what, "argv": list(argv), "cwd": cwd})

def _autoconf_steps(*configure_args, before_make = []):
    return [
        _step("configure", "./configure", "--host={host}", "--build={build}", "--prefix={prefix}", *configure_args),
    ] + before_make + [
        _step("make", "make", "-j{jobs}"),
        _step("install", "make", "install", "DESTDIR={dest}"),
    ]

def tmux_builds(name):
    """Declares libevent_, ncurses_ and tmux_<name> (install trees; tmux's is bin/tmux).

    Args:
      name: the zig target, a musl key of //toolchains/zig:targets.bzl.
    """
    target = name
    common = dict(target = target, prefix = "/opt/kernel")

    configure_make(
        name = "libevent_" + target,
        srcs = "@libevent//:files",
        source_marker = "@libevent//:PROVENANCE.json",
        env = {"CFLAGS": _OPT},
        steps = _autoconf_steps(
            "--disable-shared",
            "--enable-static",
            "--disable-openssl",
            "--disable-samples",
            "--disable-libevent-regress",
            "--disable-debug-mode",
        ),
        remove = ["bin", "lib/pkgconfig", "lib/*.la"],
        **common
    )

    configure_make(
        name = "ncurses_" + target,
        srcs = "@ncurses//:files",
        source_marker = "@ncurses//:PROVENANCE.json",
        env = {"CFLAGS": _OPT},
        steps = _autoconf_steps(
            "--without-shared",
            "--with-normal",
            "--without-debug",
            "--without-profile",
            "--without-ada",
            "--without-cxx",
            "--without-cxx-binding",
            "--without-progs",
            "--without-tests",
            "--without-manpages",
            "--disable-db-install",
            "--disable-stripping",
            "--enable-widec",
            "--with-terminfo-dirs=" + TERMINFO_DIRS,
            "--with-default-terminfo-dir=/usr/share/terminfo",
            "--with-fallbacks=" + ",".join(FALLBACK_TERMINALS),
            # The fallbacks are compiled from the source's misc/terminfo.src by the
            # build machine's tic and infocmp (the sid root's ncurses-bin).
            "--with-tic-path=/usr/bin/tic",
            "--with-infocmp-path=/usr/bin/infocmp",
        ),
        remove = ["bin", "share", "lib/pkgconfig"],
        **common
    )

    configure_make(
        name = "tmux_" + target,
        srcs = "@tmux//:files",
        source_marker = "@tmux//:PROVENANCE.json",
        deps = [
            ":libevent_" + target,
            ":ncurses_" + target,
        ],
        env = {
            "CFLAGS": _OPT,
            "LDFLAGS": "-Wl,--gc-sections",
            # No pkg-config in the build: configure takes these as pkg-config's answers.
            "LIBEVENT_CORE_CFLAGS": "-I{deps}/include",
            "LIBEVENT_CORE_LIBS": "-L{deps}/lib -levent_core",
            "LIBTINFO_CFLAGS": "-I{deps}/include/ncursesw -I{deps}/include",
            "LIBTINFO_LIBS": "-L{deps}/lib -lncursesw",
            # configure requires a yacc; the release's cmd-parse.c is used as it is
            # (touched below, so make never regenerates it).
            "YACC": "false",
        },
        steps = _autoconf_steps(
            "--enable-static",
            before_make = [_step("keep cmd-parse.c", "touch", "cmd-parse.c")],
        ),
        remove = ["share"],
        **common
    )
