"""Our su-exec, tmux and ttyd: static, stripped, for the right machine, and which versions.

Each is what the agent mounts at /opt/kernel/<name> (backend.ai-kernel-binary's
`<name>.<arch>.bin`), so it must run in any image: no interpreter, no shared
library. The versions are asked of the binaries themselves, in a bare image.
"""

from __future__ import annotations

import kernel_files
import pytest
from support import elf, image

MACHINE = {"x86_64": "x86_64", "aarch64": "aarch64"}


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
@pytest.mark.parametrize("name", sorted(kernel_files.BINARIES))
def test_static_stripped_elf(name, arch):
    info = elf.read_elf(kernel_files.binary(name, arch))
    assert info.machine == MACHINE[arch], f"{name}: e_machine {info.machine}, want {arch}"
    assert info.interpreter is None, f"{name}: dynamically linked ({info.interpreter})"
    assert info.needed == [], f"{name}: needs {info.needed}"
    assert not info.has_symtab, f"{name}: has a .symtab, not stripped"


VERSION_ARGV = {
    "tmux": (["/opt/kernel/tmux", "-V"], "tmux 3.5a"),
    "ttyd": (["/opt/kernel/ttyd", "--version"], "ttyd version 1.7.7"),
}


@pytest.mark.parametrize("arch", kernel_files.ARCHES)
@pytest.mark.parametrize("name", sorted(VERSION_ARGV))
def test_version(name, arch, tmp_path, capsys):
    argv, want = VERSION_ARGV[name]
    proc = image.run(
        kernel_files.root("musl", arch),
        kernel_files.empty_volume(tmp_path),
        argv,
        arch=arch,
        mounts=kernel_files.kernel_mounts(tmp_path, arch, name),
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == want
    size = kernel_files.binary(name, arch).stat().st_size
    with capsys.disabled():
        print(f"\n[{name} {arch}] {proc.stdout.strip()}, {size} bytes")
