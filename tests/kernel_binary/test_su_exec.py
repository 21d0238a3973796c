"""su-exec as the agent's entrypoint calls it: `su-exec "$UID:$GID,<more gids>,42" PROGRAM`.

From root in each bare trixie image (glibc: dash; musl: busybox), su-exec
switches to 1000:1000,1002,42 and execs the image's own shell, which reads its
own /proc/self/status: uid, gid and the supplementary groups must be exactly
those, with none of root's left. Malformed specs must stop with su-exec's
one-line error and never run the program.
"""

from __future__ import annotations

import kernel_files
import pytest
from support import image

# The shell's builtins only: the images have no cat or grep (glibc) to count on.
SHOW_STATUS = (
    'while IFS= read -r line; do case "$line" in Uid:*|Gid:*|Groups:*) echo "$line";; esac; '
    'done < /proc/self/status; echo "HOME=$HOME"'
)


def run_as_root(libc, arch, tmp_path, *argv):
    return image.run(
        kernel_files.root(libc, arch),
        kernel_files.empty_volume(tmp_path),
        ["/opt/kernel/su-exec", *argv],
        arch=arch,
        mounts=kernel_files.kernel_mounts(tmp_path, arch, "su-exec"),
        uid=0,
        env={"HOME": "/root"},
        timeout=120,
    )


def status_fields(text: str) -> dict[str, list[str]]:
    fields = {}
    for line in text.splitlines():
        key, _, value = line.partition(":") if not line.startswith("HOME=") else line.partition("=")
        fields[key] = value.split()
    return fields


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
@pytest.mark.parametrize("libc", kernel_files.LIBCS)
def test_switches_to_uid_gid_and_group_list(libc, arch, tmp_path):
    proc = run_as_root(libc, arch, tmp_path, "1000:1000,1002,42", "/bin/sh", "-c", SHOW_STATUS)
    assert proc.returncode == 0, proc.stderr
    fields = status_fields(proc.stdout)
    assert fields["Uid"] == ["1000"] * 4, proc.stdout  # real, effective, saved, filesystem
    assert fields["Gid"] == ["1000"] * 4, proc.stdout
    assert sorted(fields["Groups"], key=int) == ["42", "1000", "1002"], proc.stdout
    # The image's /etc/passwd names uid 1000's home.
    assert fields["HOME"] == ["/home/work"], proc.stdout


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
def test_user_name_takes_its_groups_from_the_image(arch, tmp_path):
    proc = run_as_root("glibc", arch, tmp_path, "work", "/bin/sh", "-c", SHOW_STATUS)
    assert proc.returncode == 0, proc.stderr
    fields = status_fields(proc.stdout)
    assert fields["Uid"] == ["1000"] * 4 and fields["Gid"] == ["1000"] * 4, proc.stdout
    assert fields["Groups"] == ["1000"], f"root's groups left in place? {proc.stdout}"


MALFORMED = {
    "1000:": "the group after ':' is empty",
    "1000:1000,,42": "the group list has an empty item",
    "1000:1000,1002,": "the group list has an empty item",
    ":1000": "the user is empty",
    "1000:1x": "a gid is not a decimal number",
    "4294967295:1000": "the uid is out of range",
    "1000:nosuchgroup": "no group named 'nosuchgroup' in /etc/group",
    "nosuchuser": "no user named 'nosuchuser' in /etc/passwd",
}


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
@pytest.mark.parametrize("spec", sorted(MALFORMED))
def test_malformed_spec_fails_with_one_line(spec, arch, tmp_path):
    proc = run_as_root("musl", arch, tmp_path, spec, "/bin/sh", "-c", "echo RAN")
    assert proc.returncode == 1, (proc.returncode, proc.stdout, proc.stderr)
    assert "RAN" not in proc.stdout, "the program ran after a malformed spec"
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"su-exec: invalid user spec '{spec}': {MALFORMED[spec]}"), lines[0]


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
def test_missing_program_is_named(arch, tmp_path):
    proc = run_as_root("musl", arch, tmp_path, "1000:1000", "/no/such/program")
    assert proc.returncode == 1
    assert proc.stderr.strip() == "su-exec: cannot run /no/such/program: No such file or directory"
