"""The libraries glibc 2.34 folded into libc.so.6, which trimmed images delete."""

# The volume's ELF files list these as DT_NEEDED (the link adds them for glibc
# 2.17); python_launcher.c must check the same names (its COMPAT_LIBS).
GLIBC_STUBS = ["libpthread.so.0", "libdl.so.2", "librt.so.1", "libutil.so.1"]

# Where a static-gnu volume carries them: searched by nothing but the launcher.
GLIBC_STUBS_DIR = "lib/krunner/glibc-stubs"
