"""The offline mirror refuses anything that is not exactly what was pinned."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest
from mirror import fill
from mirror.treehash import TreeError, tree_sha256

FILES = {"src/a.c": b"int a;\n", "src/b.c": b"int b;\n", "configure": b"#!/bin/sh\n"}


def make_tar(
    path: Path,
    top: str,
    files: dict[str, bytes],
    mode: str = "w:gz",
    mtime: int = 0,
    reverse: bool = False,
) -> Path:
    """A tar archive of `files` under `top/`, packed as `mode` dictates."""
    with tarfile.open(path, mode) as tar:
        for name in sorted(files, reverse=reverse):
            info = tarfile.TarInfo(f"{top}/{name}")
            info.size, info.mtime = len(files[name]), mtime
            info.mode = 0o755 if name == "configure" else 0o644
            tar.addfile(info, io.BytesIO(files[name]))
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def archive(tmp_path):
    """A fake Debian archive with one byte-identical orig and one repacked substitute."""
    pool = tmp_path / "debian" / "pool/main/d/dep"
    pool.mkdir(parents=True)
    upstream = make_tar(pool / "dep_1.0.orig.tar.gz", "dep-1.0", FILES)
    sub = make_tar(
        pool / "other_2.0.orig.tar.xz", "other2-2.0", FILES, mode="w:xz", mtime=12345, reverse=True
    )
    lock = {
        "version": 1,
        "archives": {
            "dep": {
                "version": "1.0",
                "urls": ["https://example.invalid/v1.0.tar.gz"],
                "sha256": sha(upstream),
                "strip_prefix": "dep-1.0",
                "offline": {
                    "identical": True,
                    "debian_path": "pool/main/d/dep/dep_1.0.orig.tar.gz",
                },
            },
            "other": {
                "version": "2.0",
                "urls": ["https://example.invalid/2.0.tar.gz"],
                "sha256": "0" * 64,
                "strip_prefix": "other-2.0",
                "offline": {
                    "substitute": {
                        "debian_path": "pool/main/d/dep/other_2.0.orig.tar.xz",
                        "sha256": sha(sub),
                        "strip_prefix": "other2-2.0",
                        "tree_sha256": tree_sha256(upstream, "dep-1.0"),
                        "differs": "repacked as xz",
                    }
                },
            },
            "remote_only": {
                "version": "3",
                "urls": ["https://example.invalid/r.tar.gz"],
                "sha256": "1" * 64,
                "offline": {"note": "upstream only"},
            },
        },
    }
    lock_path = tmp_path / "sources.lock.json"
    lock_path.write_text(json.dumps(lock))
    return {
        "base": (tmp_path / "debian").as_uri(),
        "lock": lock_path,
        "lock_data": lock,
        "dest": tmp_path / "mirror",
        "upstream": upstream,
        "sub": sub,
    }


def run_fill(a, log=None):
    return fill.fill(a["lock"], a["dest"], log=log or (lambda m: None), debian_base=a["base"])


def test_identical_archive_lands_in_distdir_under_the_upstream_name(archive):
    layout = run_fill(archive)
    served = layout.distdir / "v1.0.tar.gz"
    assert served.read_bytes() == archive["upstream"].read_bytes()
    assert not (layout.substitutes / "remote_only").exists()


def test_substitute_is_verified_and_announced(archive):
    messages = []
    layout = run_fill(archive, log=messages.append)
    assert (layout.substitutes / "other" / "other_2.0.orig.tar.xz").exists()
    announced = [m for m in messages if "SUBSTITUTE" in m]
    assert len(announced) == 1 and "other 2.0" in announced[0] and "repacked as xz" in announced[0]


def test_second_fill_downloads_nothing(archive):
    run_fill(archive)
    messages = []
    run_fill(archive, log=messages.append)
    assert not [m for m in messages if "fetched" in m]


def test_tampered_mirror_file_is_refused_with_hashes_and_fix(archive):
    layout = run_fill(archive)
    served = layout.distdir / "v1.0.tar.gz"
    served.write_bytes(served.read_bytes() + b"x")
    with pytest.raises(fill.MirrorError) as err:
        run_fill(archive)
    msg = str(err.value)
    assert str(served) in msg and archive["lock_data"]["archives"]["dep"]["sha256"] in msg
    assert fill.sha256_file(served) in msg and "Delete it" in msg


def test_wrong_bytes_from_the_archive_are_refused_and_leave_nothing(archive):
    archive["upstream"].write_bytes(b"not the pinned archive")
    with pytest.raises(fill.MirrorError) as err:
        run_fill(archive)
    assert "dep_1.0.orig.tar.gz" in str(err.value) and "expected" in str(err.value)
    assert list((archive["dest"] / "distdir").iterdir()) == []


def test_missing_file_names_it_and_the_fix(archive):
    archive["upstream"].unlink()
    with pytest.raises(fill.MirrorError) as err:
        run_fill(archive)
    assert "dep_1.0.orig.tar.gz" in str(err.value) and "Bumping a pinned version" in str(err.value)


def test_substitute_whose_tree_differs_is_refused(archive, tmp_path):
    # Same name and a freshly pinned archive hash, but one file changed inside.
    changed = dict(FILES, **{"src/b.c": b"int b = 1;\n"})
    make_tar(archive["sub"], "other2-2.0", changed, mode="w:xz")
    lock = archive["lock_data"]
    lock["archives"]["other"]["offline"]["substitute"]["sha256"] = sha(archive["sub"])
    archive["lock"].write_text(json.dumps(lock))
    with pytest.raises(fill.MirrorError) as err:
        run_fill(archive)
    assert "not the pinned tree" in str(err.value)
    assert not list((archive["dest"] / "substitutes").rglob("*.tree-verified"))


def test_swapped_substitute_with_a_repinned_archive_hash_is_refused_on_a_warm_cache(archive):
    # Defect: the tree marker held only the tree hash, so an archive swapped into a
    # warm mirror plus an edited archive sha256 in the lock skipped the tree check.
    run_fill(archive)
    served = archive["dest"] / "substitutes/other/other_2.0.orig.tar.xz"
    make_tar(served, "other2-2.0", dict(FILES, **{"src/a.c": b"int a = evil();\n"}), mode="w:xz")
    lock = archive["lock_data"]
    lock["archives"]["other"]["offline"]["substitute"]["sha256"] = sha(served)
    archive["lock"].write_text(json.dumps(lock))
    messages = []
    with pytest.raises(fill.MirrorError, match="not the pinned tree"):
        run_fill(archive, log=messages.append)
    assert not [m for m in messages if "verified" in m]


def test_an_edited_hash_in_the_lock_is_blamed_on_the_lock(archive):
    run_fill(archive)
    lock = archive["lock_data"]
    lock["archives"]["dep"]["sha256"] = "f" * 64
    archive["lock"].write_text(json.dumps(lock))
    with pytest.raises(fill.MirrorError) as err:
        run_fill(archive)
    msg = str(err.value)
    assert (
        "sources.lock.json now pins sha256 " + "f" * 64 in msg
        and "The lock changed, not the file" in msg
    )
    assert "changed after it was verified" not in msg


def test_a_deliberately_bumped_pin_fetches_the_new_file(archive):
    run_fill(archive)
    make_tar(archive["upstream"], "dep-1.0", dict(FILES, **{"src/c.c": b"int c;\n"}))
    lock = archive["lock_data"]
    lock["archives"]["dep"]["sha256"] = sha(archive["upstream"])
    archive["lock"].write_text(json.dumps(lock))
    messages = []
    layout = run_fill(archive, log=messages.append)
    assert (layout.distdir / "v1.0.tar.gz").read_bytes() == archive["upstream"].read_bytes()
    assert [m for m in messages if "the lock now pins" in m]


def test_warm_runs_announce_substitutes_in_one_line(archive):
    run_fill(archive)
    messages = []
    run_fill(archive, log=messages.append)
    assert len(messages) == 1 and "SUBSTITUTES" in messages[0] and "other 2.0" in messages[0]


def test_tree_hash_ignores_packing_but_not_content(tmp_path):
    a = make_tar(tmp_path / "a.tar.gz", "x-1", FILES)
    b = make_tar(tmp_path / "b.tar.bz2", "y", FILES, mode="w:bz2", mtime=999, reverse=True)
    c = make_tar(tmp_path / "c.tar.gz", "x-1", dict(FILES, configure=b"#!/bin/bash\n"))
    assert tree_sha256(a, "x-1") == tree_sha256(b, "y")
    assert tree_sha256(a, "x-1") != tree_sha256(c, "x-1")


def test_tree_hash_sees_exec_bits(tmp_path):
    a = make_tar(tmp_path / "a.tar", "t", FILES, mode="w")
    with tarfile.open(tmp_path / "b.tar", "w") as tar:
        for name, data in FILES.items():
            info = tarfile.TarInfo(f"t/{name}")
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    assert tree_sha256(a, "t") != tree_sha256(tmp_path / "b.tar", "t")


def test_member_escaping_the_top_directory_is_refused(tmp_path):
    path = tmp_path / "evil.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("t/../../etc/passwd")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(TreeError):
        tree_sha256(path, "t")


def tar_of(path: Path, members: list[tuple[str, bytes]]) -> Path:
    """A tar with exactly these (name, content) members, in this order."""
    with tarfile.open(path, "w") as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return path


def test_a_path_named_twice_is_refused(tmp_path):
    """Issue 18, finding 5: the hash saw GOOD, extraction keeps EVIL2."""
    clean = tar_of(tmp_path / "clean.tar", [("pkg/a", b"GOOD")])
    evil = tar_of(
        tmp_path / "evil.tar", [("pkg/a", b"EVIL1"), ("./pkg/a", b"GOOD"), ("pkg/a", b"EVIL2")]
    )
    with tarfile.open(evil) as tar:  # what extraction leaves: the last member
        assert tar.extractfile(tar.getmembers()[-1]).read() == b"EVIL2"
    tree_sha256(clean, "pkg")
    with pytest.raises(TreeError, match="second time"):
        tree_sha256(evil, "pkg")
    for spelling in ("pkg//a", "pkg/./a"):
        with pytest.raises(TreeError, match="second time"):
            tree_sha256(
                tar_of(tmp_path / "x.tar", [("pkg/a", b"GOOD"), (spelling, b"EVIL")]), "pkg"
            )


def test_a_member_below_a_symlink_of_the_archive_is_refused(tmp_path):
    path = tmp_path / "through-link.tar"
    with tarfile.open(path, "w") as tar:
        link = tarfile.TarInfo("pkg/lib")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc"
        tar.addfile(link)
        info = tarfile.TarInfo("pkg/lib/passwd")
        info.size = 4
        tar.addfile(info, io.BytesIO(b"root"))
    with pytest.raises(TreeError, match="not a directory"):
        tree_sha256(path, "pkg")


def test_a_mirror_password_is_sent_as_a_header_and_never_printed(tmp_path):
    """Issue 18, finding 7: the URL with `user:password@` was echoed by MirrorError."""
    import base64
    import http.server
    import threading

    payload = b"orig bytes"
    seen: list[str | None] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append(self.headers.get("Authorization"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://deb:mirr0r-pw@127.0.0.1:{server.server_port}/debian/pool/x.tar"
        target = tmp_path / "m" / "x.tar"
        fill._download(url, target, hashlib.sha256(payload).hexdigest(), "x 1")
        assert target.read_bytes() == payload
        assert seen == ["Basic " + base64.b64encode(b"deb:mirr0r-pw").decode()]
        with pytest.raises(fill.MirrorError) as err:  # wrong bytes: the URL is in the message
            fill._download(url, tmp_path / "m" / "y.tar", "0" * 64, "y 1")
        assert "mirr0r-pw" not in str(err.value) and "***@127.0.0.1" in str(err.value)
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(fill.MirrorError) as err:  # unreachable now
        fill._download(url, tmp_path / "m" / "z.tar", "0" * 64, "z 1")
    assert "mirr0r-pw" not in str(err.value) and "cannot download" in str(err.value)


@pytest.mark.parametrize(
    "members",
    [
        [("pkg/.", b"a file where the top directory is")],
        [("pkg/a/b", b"x"), ("pkg/a", b"a file where a directory is")],
        [("pkg/a/.", b"a file named as a directory")],
    ],
)
def test_trees_extraction_cannot_make_are_refused(tmp_path, members):
    """Found by tests/fuzz: the hash listed files that extraction fails on or replaces."""
    with pytest.raises(TreeError):
        tree_sha256(tar_of(tmp_path / "odd.tar", members), "pkg")
