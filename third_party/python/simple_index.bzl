"""Find a file's URL in a PEP 503 simple index, for repository rules."""

def _normalize(project):
    out = project.lower()
    for ch in ("_", "."):
        out = out.replace(ch, "-")
    return out

def _join(base, href):
    """Resolves `href` from an index page at `base` (absolute, host-relative or relative)."""
    if href.startswith("https://") or href.startswith("http://") or href.startswith("file://"):
        return href
    scheme, rest = base.split("://", 1)
    if href.startswith("/"):
        return "{}://{}{}".format(scheme, rest.split("/", 1)[0], href)
    return base.rstrip("/") + "/" + href

def redact(url):
    """`url` with any user info replaced by `***`, for messages.

    tools/bazel passes credentials to a credential helper, but an index given by
    hand may still carry a token.

    Args:
      url: an index or registry URL.

    Returns:
      The URL, safe to print.
    """
    scheme, sep, rest = url.partition("://")
    host_and_path = rest.split("/", 1)
    if not sep or "@" not in host_and_path[0]:
        return url
    host_and_path[0] = "***@" + host_and_path[0].rsplit("@", 1)[1]
    return scheme + sep + "/".join(host_and_path)

def wheel_url(rctx, project, filename):
    """The URL of `filename` in `project`'s page of the index named by KRUNNER_PYPI_INDEX.

    Args:
      rctx: the repository context (downloads the project's page).
      project: the project's name on the index.
      filename: the exact file name to look for.

    Returns:
      The file's absolute URL, without the `#sha256=` fragment.
    """
    index = rctx.os.environ.get("KRUNNER_PYPI_INDEX", "")
    if not index:
        fail("KRUNNER_PYPI_INDEX is not set: run Bazel through tools/bazel, or pass " +
             "--repo_env=KRUNNER_PYPI_INDEX=<your pip index's simple URL>")
    page_url = "{}/{}/".format(index.rstrip("/"), _normalize(project))
    page = "_index_{}.html".format(_normalize(project))
    rctx.download(url = [page_url], output = page)
    html = rctx.read(page)
    rctx.delete(page)
    marker = ">{}</a>".format(filename)
    at = html.find(marker)
    if at < 0:
        fail("{} is not listed on {} (yanked, or a typo in the lock?). Pick a file that the index has.".format(filename, redact(page_url)))
    start = html.rfind("href=\"", 0, at) + len("href=\"")
    href = html[start:html.find("\"", start)].split("#")[0].replace("&amp;", "&")
    return _join(page_url, href)
