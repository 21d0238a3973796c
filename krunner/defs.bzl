"""Public API of //krunner: volumes and wheels (implementation in private/)."""

load("//krunner:distros.bzl", "DISTROS", "PYTHON_VERSION", "platform_tags")
load("//krunner/private:volume.bzl", _krunner_volume = "krunner_volume")
load("//krunner/private:wheel.bzl", _krunner_wheel = "krunner_wheel")

krunner_volume = _krunner_volume
krunner_wheel = _krunner_wheel

# The agent bind-mounts its own kernel runner packages onto these.
AGENT_MOUNT_POINTS = [
    "lib/python{}/site-packages/ai/backend/kernel".format(PYTHON_VERSION),
    "lib/python{}/site-packages/ai/backend/helpers".format(PYTHON_VERSION),
]

def krunner_distribution(distro, arch, runtime, packages, ttyd, licenses = []):
    """`<distro>_volume_<arch>` and `<distro>_wheel_<arch>` for one distro and arch.

    Args:
      distro: a key of DISTROS ("static_gnu" or "alpine").
      arch: "x86_64" or "aarch64".
      runtime: a directory target laid out as the volume root (CPython).
      packages: a directory target with lib/pythonX.Y/site-packages and bin/.
      ttyd: the static ttyd binary for `arch`.
      licenses: single-file targets named LICENSE.<component>, for the volume's
        licenses/ and the wheel's dist-info/licenses/.
    """
    d = DISTROS[distro]
    volume = "{}_volume_{}".format(distro, arch)
    krunner_volume(
        name = volume,
        arch = arch,
        trees = [runtime, packages],
        files = dict({ttyd: "bin/ttyd:x"}, **{lic: "licenses/{}.txt".format(Label(lic).name) for lic in licenses}),
        empty_dirs = AGENT_MOUNT_POINTS,
    )
    krunner_wheel(
        name = "{}_wheel_{}".format(distro, arch),
        distribution = d.distribution,
        version = d.version,
        summary = d.summary,
        package = distro,
        distro_key = d.distro_key,
        arch = arch,
        volume = ":" + volume,
        volume_version = d.volume_version,
        python_version = PYTHON_VERSION,
        platform_tags = platform_tags(distro, arch),
        licenses = licenses,
    )
