"""Static musl programs from a `configure_make` build: warming zig's cache for them.

`configure_make` warms zig's cache for the dynamic links that library builds
make. A program linked `-static` needs zig's static libc.a as well, which zig
would otherwise build inside the first static link of configure or make, on
every CPU, with archive members in completion order. `STATIC_WARM_STEP`, the
first step of such a build, links a static probe on one CPU, so libc.a (and so
the program's layout) is the same in every build.

`tree_executable` (tree_file.bzl) takes the program out of the install tree.
"""

# The first CPU this action may run on, as configure_make's own warming picks it.
_WARM = (
    "cpu=$(taskset -pc $$ | sed 's/.*: *//; s/[-,].*//') && " +
    "exec taskset -c \"$cpu\" cc -static -fPIC -o /mnt/tmp/probe-static /mnt/tmp/probe.c"
)

STATIC_WARM_STEP = json.encode({
    "what": "warming zig's cache (static executable)",
    "argv": ["sh", "-c", _WARM],
    "cwd": "",
})
