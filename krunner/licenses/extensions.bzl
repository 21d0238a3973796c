"""The `license_texts` extension: the @krunner_license_texts repository (see debian_texts.bzl)."""

load("//krunner/licenses:debian_texts.bzl", "debian_license_texts")

def _impl(mctx):
    for mod in mctx.modules:
        if not mod.is_root:
            fail("the license_texts extension is configured by the root module only, not by " + mod.name)
    debian_license_texts(name = "krunner_license_texts")
    return mctx.extension_metadata(reproducible = True)

license_texts = module_extension(
    implementation = _impl,
    doc = "License texts of the libraries CPython links in, from //krunner/licenses:debian_texts.lock.json.",
)
