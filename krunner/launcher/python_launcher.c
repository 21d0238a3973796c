/*
 * bin/python (and bin/python3) of a krunner volume: runs the interpreter beside
 * it, bin/python<X.Y>, with -E inserted as its first option.
 *
 * Why: the agent passes the image's ENV to the runner's process. PYTHONPATH,
 * PYTHONHOME, PYTHONPLATLIBDIR, PYTHONOPTIMIZE, PYTHONWARNINGS, PYTHONSTARTUP,
 * PYTHONSAFEPATH and the rest of CPython's PYTHON* variables would otherwise
 * decide what our interpreter loads (an image's pyzmq, another stdlib). -E makes
 * CPython ignore all of them and leaves os.environ untouched, so the runner still
 * hands them to the image's own programs.
 *
 * Why not a ._pth file: on POSIX, CPython 3.13's getpath.py looks for it beside
 * libpython (we link statically: none) or beside the executable found from
 * argv[0]. The runner re-executes itself as `bai-krunner` (no slash, not on PATH),
 * so that search finds nothing and the re-executed runner would read PYTHONPATH
 * again; and a ._pth leaves PYTHONOPTIMIZE, PYTHONWARNINGS and PYTHONPLATLIBDIR in
 * force (they are read before getpath runs). Why not a patched CPython: the same
 * -E, at the price of rebuilding four interpreters.
 *
 * -E has two holes on POSIX: getpath reads PYTHONEXECUTABLE and
 * __PYVENV_LAUNCHER__ whatever -E says, takes them for the executable and
 * searches the prefix beside them (an image's own python3.13 would lend us its
 * stdlib). So the launcher moves them to KRUNNER_SAVED_<name>, and
 * site-packages/_krunner_environ.pth puts them back into os.environ once the
 * interpreter is up, for the runner's children.
 *
 * argv[0] is passed on unchanged, so sys.executable stays this launcher's path
 * and the runner's re-exec (`os.execvpe(sys.executable, ["bai-krunner", ...])`)
 * comes back through here, and its process name stays `bai-krunner`. Without
 * PYTHONHOME the re-executed interpreter finds its prefix from its build prefix,
 * /opt/backend.ai, where the agent mounts the volume.
 *
 * Trimmed glibc images (NVIDIA NIM) delete libpthread.so.0, libdl.so.2,
 * librt.so.1 and libutil.so.1, the empty stubs glibc >= 2.34 keeps for binaries
 * linked against older glibc, which ours are (GLIBC_2.17). In a static-gnu volume
 * (one that has lib/krunner/glibc-stubs), when the image lacks one of them and
 * its libc.so.6 is 2.34 or newer, the launcher runs the interpreter through the
 * image's ld.so with `--library-path $LD_LIBRARY_PATH:<stubs>`: only this process
 * (and what it dlopens) sees our stubs, and LD_LIBRARY_PATH in its environment,
 * which the runner's children inherit, stays as it was. On an image that has the
 * files (every glibc 2.17-2.33 image, where they hold real code), nothing changes.
 *
 * Static, so it needs nothing from the image: no shell, no libc of a given kind.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KRUNNER_INTERPRETER
#error "define KRUNNER_INTERPRETER, the interpreter's file name (python3.13)"
#endif
#if defined(__x86_64__)
#define GLIBC_LD_SO "/lib64/ld-linux-x86-64.so.2"
#define GLIBC_TRIPLET "x86_64-linux-gnu"
#elif defined(__aarch64__)
#define GLIBC_LD_SO "/lib/ld-linux-aarch64.so.1"
#define GLIBC_TRIPLET "aarch64-linux-gnu"
#else
#error "unsupported architecture"
#endif

#ifndef KRUNNER_PREFIX
#define KRUNNER_PREFIX "/opt/backend.ai"
#endif

/* The names in //krunner/launcher:stubs.bzl (GLIBC_STUBS). */
static const char *const COMPAT_LIBS[] = {"libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1"};
/* Where glibc's own libraries live in every distro's layout. */
static const char *const LIB_DIRS[] = {"/lib/" GLIBC_TRIPLET, "/usr/lib/" GLIBC_TRIPLET, "/lib64", "/usr/lib64",
                                       "/lib", "/usr/lib"};
#define N(a) (sizeof(a) / sizeof *(a))

/* The first of LD_LIBRARY_PATH's directories and LIB_DIRS that holds `name`, into `out`. */
static int find_lib(const char *name, char *out, size_t size) {
    const char *llp = getenv("LD_LIBRARY_PATH");
    while (llp && *llp) {
        size_t len = strcspn(llp, ":");
        if (len > 0 && (size_t)snprintf(out, size, "%.*s/%s", (int)len, llp, name) < size && access(out, F_OK) == 0)
            return 1;
        llp += len + (llp[len] == ':');
    }
    for (size_t i = 0; i < N(LIB_DIRS); i++)
        if ((size_t)snprintf(out, size, "%s/%s", LIB_DIRS[i], name) < size && access(out, F_OK) == 0) return 1;
    return 0;
}

/* Whether the file defines the version node GLIBC_2.34 (its name is in .dynstr). */
static int defines_glibc_2_34(const char *path) {
    static const char needle[] = "GLIBC_2.34";
    char buf[65536 + sizeof needle];
    size_t keep = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    for (;;) {
        ssize_t n = read(fd, buf + keep, sizeof buf - keep);
        if (n <= 0) break;
        size_t have = keep + (size_t)n;
        for (size_t i = 0; i + sizeof needle <= have; i++)
            if (memcmp(buf + i, needle, sizeof needle) == 0) { /* with its NUL: not GLIBC_2.340 */
                close(fd);
                return 1;
            }
        keep = have < sizeof needle - 1 ? have : sizeof needle - 1;
        memmove(buf, buf + have - keep, keep);
    }
    close(fd);
    return 0;
}

/* A trimmed glibc >= 2.34 image: a compat library is missing and libc.so.6 is new enough to hold its code. */
static int trimmed_glibc(void) {
    char path[PATH_MAX];
    int missing = 0;
    for (size_t i = 0; i < N(COMPAT_LIBS); i++) missing |= !find_lib(COMPAT_LIBS[i], path, sizeof path);
    return missing && find_lib("libc.so.6", path, sizeof path) && defines_glibc_2_34(path) &&
           access(GLIBC_LD_SO, X_OK) == 0;
}

int main(int argc, char **argv) {
    char self[PATH_MAX];
    char target[PATH_MAX];
    /* The interpreter beside the launcher's real path (the volume may be
     * unpacked elsewhere than /opt/backend.ai, e.g. by a test); without /proc,
     * the prefix the volume is built for. */
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    char *slash = NULL;
    if (n > 0) {
        self[n] = '\0';
        slash = strrchr(self, '/');
    }
    int len = slash ? snprintf(target, sizeof target, "%.*s/%s", (int)(slash - self), self, KRUNNER_INTERPRETER)
                    : snprintf(target, sizeof target, "%s/bin/%s", KRUNNER_PREFIX, KRUNNER_INTERPRETER);
    if (len < 0 || (size_t)len >= sizeof target) {
        fprintf(stderr, "krunner python launcher: the path of %s is too long\n", KRUNNER_INTERPRETER);
        return 127;
    }
    static const char *const hidden[] = {"PYTHONEXECUTABLE", "__PYVENV_LAUNCHER__"};
    for (size_t i = 0; i < sizeof hidden / sizeof *hidden; i++) {
        const char *value = getenv(hidden[i]);
        if (value == NULL) continue;
        char saved[64];
        snprintf(saved, sizeof saved, "KRUNNER_SAVED_%s", hidden[i]);
        if (setenv(saved, value, 1) != 0 || unsetenv(hidden[i]) != 0) {
            fprintf(stderr, "krunner python launcher: cannot set aside %s: %s\n", hidden[i], strerror(errno));
            return 127;
        }
    }
    char **args = calloc((size_t)argc + 2, sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "krunner python launcher: out of memory\n");
        return 127;
    }
    args[0] = argc > 0 ? argv[0] : (char *)KRUNNER_INTERPRETER;
    args[1] = (char *)"-E";
    for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
    char stubs[PATH_MAX];
    if (slash && (size_t)snprintf(stubs, sizeof stubs, "%.*s/../lib/krunner/glibc-stubs", (int)(slash - self), self) <
                     sizeof stubs &&
        access(stubs, F_OK) == 0 && trimmed_glibc()) {
        const char *llp = getenv("LD_LIBRARY_PATH");
        size_t size = strlen(stubs) + (llp ? strlen(llp) + 1 : 0) + 1;
        char *library_path = malloc(size);
        char **via_ld = calloc((size_t)argc + 7, sizeof *via_ld);
        if (library_path == NULL || via_ld == NULL) {
            fprintf(stderr, "krunner python launcher: out of memory\n");
            return 127;
        }
        /* the image's own directories first: the stubs only fill in what is missing */
        snprintf(library_path, size, "%s%s%s", llp && *llp ? llp : "", llp && *llp ? ":" : "", stubs);
        const char *pre[] = {GLIBC_LD_SO, "--argv0", args[0], "--library-path", library_path, target};
        for (size_t i = 0; i < N(pre); i++) via_ld[i] = (char *)pre[i];
        for (int i = 1; args[i] != NULL; i++) via_ld[N(pre) + (size_t)i - 1] = args[i];
        execv(GLIBC_LD_SO, via_ld);
        fprintf(stderr, "krunner python launcher: cannot run %s: %s\n", GLIBC_LD_SO, strerror(errno));
        return 127;
    }
    execv(target, args);
    fprintf(stderr, "krunner python launcher: cannot run %s: %s (is the krunner volume complete?)\n", target,
            strerror(errno));
    return 127;
}
