/*
 * An empty library, built once for each of libpthread.so.0, libdl.so.2,
 * librt.so.1 and libutil.so.1 (the name is set with -soname). glibc 2.34 moved
 * their code into libc.so.6 and keeps the old names as empty stubs for binaries
 * that still list them as DT_NEEDED, as ours do; trimmed images (NVIDIA NIM)
 * delete those stubs. The launcher (python_launcher.c) loads these instead, and
 * only in an image whose libc.so.6 is 2.34 or newer and that lacks the files:
 * the symbols resolve in libc.so.6 as they do through glibc's own stubs, since
 * ld.so matches a versioned symbol by version name, not by the file the
 * version was linked against. glibc_stub.map defines every version node up to
 * GLIBC_2.17, so ld.so's version check finds the ones our files name.
 */

int __krunner_glibc_stub;
