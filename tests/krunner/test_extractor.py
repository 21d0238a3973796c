"""The agent's own extractor unpacks the volume into the tree we built.

The agent loads backend.ai-kernel-binary's `krunner-extractor.img.<arch>.tar.xz`
with `docker load` and runs its `krunner-extractor.sh` (busybox `tar xJf` on
Alpine) with the wheel's archive at /root/archive.tar.xz and the Docker volume
at /root/volume. Here the image's layers (docker-save layout: manifest.json and
one tar per layer) are unpacked without Docker into a root, the script runs
there as root with KRUNNER_VERSION set, and the extracted tree must be ours:
every path, type, mode, link target and file content, plus the VERSION file the
script writes. The peak memory of the extraction (busybox `time -v`) is printed.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import shutil
import stat
import tarfile
from pathlib import Path

from support import image

ARCH = os.environ["ARCH"]
RUNFILES = Path(os.environ["TEST_SRCDIR"])
VOLUME = RUNFILES / os.environ["VOLUME"]
SCRIPT = Path(
    os.path.realpath(RUNFILES / os.environ["RUNNER_SH"])
)  # ai/backend/runner/krunner-extractor.sh
IMAGE = SCRIPT.parent / f"krunner-extractor.img.{ARCH}.tar.xz"
VERSION = "42"


def unpack_image(dest: Path) -> Path:
    """The image's root filesystem: its layers applied in order (whiteouts honoured)."""
    saved = dest / "saved"
    saved.mkdir(parents=True)
    with lzma.open(IMAGE) as f, tarfile.open(fileobj=f, mode="r|") as tf:
        tf.extractall(saved, filter="tar")
    manifest = json.loads((saved / "manifest.json").read_text())
    assert manifest[0]["RepoTags"] == ["backendai-krunner-extractor:latest"]
    root = dest / "root"
    root.mkdir()
    for layer in manifest[0]["Layers"]:
        with tarfile.open(saved / layer) as tf:
            for m in tf.getmembers():
                name = Path(m.name)
                if name.name.startswith(".wh."):
                    target = root / name.parent / name.name[4:]
                    if target.is_dir() and not target.is_symlink():
                        shutil.rmtree(target)
                    elif os.path.lexists(target):
                        target.unlink()
                    continue
                tf.extract(m, root, filter="fully_trusted", set_attrs=True)
    # mount points support.image needs, and the files the agent bind-mounts
    for d in ("dev", "proc", "tmp", "home/work", "opt/backend.ai", "root/volume"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copyfile(VOLUME, root / "root/archive.tar.xz")
    shutil.copyfile(SCRIPT, root / "root/krunner-extractor.sh")
    os.chmod(root / "root/krunner-extractor.sh", 0o755)
    return root


def listing(top: Path) -> dict[str, tuple]:
    out = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            st = p.lstat()
            rel = str(p.relative_to(top))
            if stat.S_ISLNK(st.st_mode):
                out[rel] = ("link", os.readlink(p))
            elif stat.S_ISDIR(st.st_mode):
                out[rel] = ("dir", stat.S_IMODE(st.st_mode))
            else:
                out[rel] = (
                    "file",
                    stat.S_IMODE(st.st_mode),
                    hashlib.sha256(p.read_bytes()).hexdigest(),
                )
    return out


def test_extractor_gives_our_tree(tmp_path):
    root = unpack_image(tmp_path / "extractor")
    # the image's busybox `time -v` reports the peak RSS of the script and the tar it waits for
    proc = image.run(
        root,
        tmp_path / "extractor/saved",
        ["/usr/bin/time", "-v", "/bin/sh", "/root/krunner-extractor.sh"],
        arch=ARCH,
        env={"KRUNNER_VERSION": VERSION},
        uid=0,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    peak = [line for line in proc.stderr.splitlines() if "Maximum resident set size" in line]
    print(f"extractor ({VOLUME.name}): {peak}")
    extracted = root / "root/volume"
    assert (extracted / "VERSION").read_text() == VERSION + "\n"
    (extracted / "VERSION").unlink()
    ours = image.extract_volume(VOLUME, tmp_path / "ours")
    theirs, mine = listing(extracted), listing(ours)
    assert sorted(theirs) == sorted(mine), (sorted(set(theirs) ^ set(mine)))[:20]
    diff = [k for k in mine if mine[k] != theirs[k]]
    assert not diff, [(k, mine[k], theirs[k]) for k in diff[:10]]
