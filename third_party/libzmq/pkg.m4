# Stand-ins for pkg-config's autoconf macros, which libzmq's configure.ac calls
# and `autoreconf` needs to expand. The sid root has no pkg-config (and gets
# none: a new root would change every action's key), and each libzmq feature
# that asks pkg-config (libsodium, GnuTLS, NSS, PGM, NORM, GSSAPI, libbsd,
# libunwind) is configured off here, so every check takes its "not found" branch.
AC_DEFUN([PKG_PROG_PKG_CONFIG], [PKG_CONFIG=false
AC_SUBST([PKG_CONFIG])])
# The `:` keeps a shell `if` valid when the branch is empty.
AC_DEFUN([PKG_CHECK_EXISTS], [$3
:])
AC_DEFUN([PKG_CHECK_MODULES], [$4
:])
