#!/bin/sh
# Build zig's libc, crt files and compiler-rt for one target into a fresh,
# private zig cache, and keep the parts a later link reuses (manifests h/,
# outputs o/, generated builtins b/) in OUT, normalised so that the same zig
# and target always give the same bytes. Then prove the result: a link that
# starts from a copy of OUT must find everything cached and build nothing.
#
# usage: warm_cache.sh ZIG TRIPLE OUT [LINK_FLAG...]
#   ZIG        the zig binary, execroot-relative; its lib/ sits beside it
#   TRIPLE     zig's -target, e.g. x86_64-linux-musl
#   OUT        the directory to fill (a Bazel tree artifact)
#   LINK_FLAG  the flags the toolchain links executables with
set -eu
zig=$1 triple=$2 out=$3
shift 3
ZIG_LIB_DIR="${zig%/*}/lib"
export ZIG_LIB_DIR
work=$(mktemp -d "${TMPDIR:-/tmp}/zig-warm.XXXXXX")
# The cache that is kept is built at a path relative to the execroot and the
# same in every build: zig names archive members by their path in its cache.
cold="$out.warm"
trap 'rm -rf "$work" "$cold"' EXIT
rm -rf "$cold"

# zig_with CACHE WHAT ARGS...: run `zig cc -target TRIPLE ARGS` with CACHE as its
# only cache (under $pin, a command prefix, when set).
pin=
zig_with() {
  cache=$1 what=$2
  shift 2
  ZIG_GLOBAL_CACHE_DIR=$cache ZIG_LOCAL_CACHE_DIR=$cache \
    $pin "$zig" cc -target "$triple" "$@" >"$work/log" 2>&1 || {
      echo "warm_cache: $what for $triple failed:" >&2
      cat "$work/log" >&2
      exit 1
    }
}

printf 'int main(void) { return 0; }\n' > "$work/probe.c"
zig_with "$work/scratch" "compiling a probe" -c "$work/probe.c" -o "$work/probe.o"
# On one CPU: zig lists the sources of libc.a in its manifest in the order
# their compilations finish, and the manifest names the output directory.
pin="taskset -c $(awk '/^Cpus_allowed_list/ { split($2, c, /[-,]/); print c[1] }' /proc/self/status)"
zig_with "$cold" "linking a probe" "$@" -o "$work/probe" "$work/probe.o"
pin=

mkdir -p "$out"
for d in h o b; do
  if [ -d "$cold/$d" ]; then cp -R "$cold/$d" "$out/"; fi
done
# A manifest line is "size inode mtime digest prefix path". inode and mtime
# are this machine's: zero them, and zig re-hashes each file (then hits).
for m in "$out"/h/*.txt; do
  sed -E '2,$ s/^([0-9]+) [0-9]+ [0-9]+ ([0-9a-f]+) /\1 0 0 \2 /' "$m" > "$m.tmp"
  mv "$m.tmp" "$m"
done

# The proof: from a copy of OUT, the same link must build nothing.
cp -R "$out" "$work/check"
before=$(ls "$work/check/o" | wc -l)
zig_with "$work/check" "relinking from the warmed cache" "$@" -o "$work/probe2" "$work/probe.o"
after=$(ls "$work/check/o" | wc -l)
if [ "$before" != "$after" ]; then
  echo "warm_cache: from the warmed cache, zig still built $((after - before)) entries for $triple;" \
       "every link action would too. Compare the flags given here with the toolchain's link flags." >&2
  exit 1
fi
