"""Public API of //krunner: volumes and wheels (implementation in private/)."""

load("//krunner:distros.bzl", "DISTROS", "PYTHON_VERSION", "platform_tags")
load("//krunner/launcher:stubs.bzl", "GLIBC_STUBS", "GLIBC_STUBS_DIR")
load("//krunner/private:bom.bzl", _krunner_bom = "krunner_bom")
load("//krunner/private:volume.bzl", _krunner_volume = "krunner_volume")
load("//krunner/private:wheel.bzl", _krunner_wheel = "krunner_wheel")

krunner_bom = _krunner_bom
krunner_volume = _krunner_volume
krunner_wheel = _krunner_wheel

# The agent bind-mounts its own kernel runner packages onto these.
AGENT_MOUNT_POINTS = [
    "lib/python{}/site-packages/ai/backend/kernel".format(PYTHON_VERSION),
    "lib/python{}/site-packages/ai/backend/helpers".format(PYTHON_VERSION),
]

def krunner_distribution(name, distro, arch, runtime, runtime_provenance, packages, packages_lock, ttyd, components):
    """`<distro>_{bom,volume,wheel}_<arch>` for one distro and arch.

    Args:
      name: the wheel's name, `<distro>_wheel_<arch>`; the volume and BOM share its stem.
      distro: a key of DISTROS ("static_gnu" or "alpine").
      arch: "x86_64" or "aarch64".
      runtime: a directory target laid out as the volume root (CPython).
      runtime_provenance: the runtime's provenance JSON (upstream or substitute).
      packages: a directory target with lib/pythonX.Y/site-packages and bin/.
      packages_lock: the package lock `packages` was installed from.
      ttyd: the static ttyd binary for `arch`.
      components: ttyd and the C libraries built into it: filegroups of each
        archive's PROVENANCE.json and license text, keyed to the component name.
    """
    if name != "{}_wheel_{}".format(distro, arch):
        fail("krunner_distribution: name {} should be {}_wheel_{}".format(name, distro, arch))
    d = DISTROS[distro]
    bom = "{}_bom_{}".format(distro, arch)
    volume = "{}_volume_{}".format(distro, arch)
    krunner_bom(
        name = bom,
        distribution = d.distribution,
        version = d.version,
        distro_key = d.distro_key,
        arch = arch,
        volume_version = d.volume_version,
        python_version = PYTHON_VERSION,
        runtime = runtime,
        runtime_provenance = runtime_provenance,
        packages = packages,
        packages_lock = packages_lock,
        archives = components,
        linked = {"@libzmq//:PROVENANCE.json": "libzmq"},
    )
    files = {
        ttyd: "bin/ttyd:x",
        "//krunner/launcher:_krunner_environ.pth": "lib/python{}/site-packages/_krunner_environ.pth".format(PYTHON_VERSION),
    }
    if distro == "static_gnu":
        # for trimmed glibc >= 2.34 images, loaded only by the launcher (python_launcher.c)
        files.update({
            "//krunner/launcher:{}_{}".format(soname, arch): "{}/{}".format(GLIBC_STUBS_DIR, soname)
            for soname in GLIBC_STUBS
        })
    krunner_volume(
        name = volume,
        arch = arch,
        trees = [runtime, packages, ":" + bom],
        files = files,
        empty_dirs = AGENT_MOUNT_POINTS,
        python_launcher = "//krunner/launcher:python_launcher_" + arch,
        python_version = PYTHON_VERSION,
    )
    krunner_wheel(
        name = name,
        distribution = d.distribution,
        version = d.version,
        summary = d.summary,
        package = d.package,
        distro_key = d.distro_key,
        arch = arch,
        volume = ":" + volume,
        volume_version = d.volume_version,
        python_version = PYTHON_VERSION,
        platform_tags = platform_tags(distro, arch),
        bom = ":" + bom,
    )
