"""Helpers for repository rules that use pinned Debian binary packages, without dpkg."""

def debian_mirror(rctx):
    """The Debian archive URL that tools/bazel passes in, or a failure saying how to set it.

    Args:
      rctx: the repository context (reads KRUNNER_DEBIAN_MIRROR).

    Returns:
      The mirror's URL, without a trailing slash.
    """
    mirror = rctx.os.environ.get("KRUNNER_DEBIAN_MIRROR", "")
    if not mirror:
        fail("KRUNNER_DEBIAN_MIRROR is not set: run Bazel through tools/bazel, or pass " +
             "--repo_env=KRUNNER_DEBIAN_MIRROR=<your Debian mirror URL>")
    return mirror.rstrip("/")

def unpack_deb(rctx, mirror, pkg, out):
    """Downloads one pinned .deb and extracts its data files under `out`.

    Args:
      rctx: the repository context.
      mirror: the archive URL from debian_mirror().
      pkg: a lock entry with `package`, `path` (pool path) and `sha256`.
      out: the directory to extract into, relative to the repository.
    """
    deb = "_debs/{}.deb".format(pkg["package"])
    rctx.download(url = [mirror + "/" + pkg["path"]], output = deb, sha256 = pkg["sha256"])
    rctx.extract(deb, output = "_debs/" + pkg["package"])
    data = [f for f in rctx.path("_debs/" + pkg["package"]).readdir() if f.basename.startswith("data.tar")]
    if len(data) != 1:
        fail("{} has no single data.tar.* member: not a Debian binary package".format(pkg["path"]))
    rctx.extract(data[0], output = out)
    rctx.delete("_debs/" + pkg["package"])
