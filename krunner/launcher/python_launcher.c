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
 * Static, so it needs nothing from the image: no shell, no libc of a given kind.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef KRUNNER_INTERPRETER
#error "define KRUNNER_INTERPRETER, the interpreter's file name (python3.13)"
#endif
#ifndef KRUNNER_PREFIX
#define KRUNNER_PREFIX "/opt/backend.ai"
#endif

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
    execv(target, args);
    fprintf(stderr, "krunner python launcher: cannot run %s: %s (is the krunner volume complete?)\n", target,
            strerror(errno));
    return 127;
}
