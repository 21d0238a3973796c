"""Small real .deb files, a lock pinning them, and a loopback mirror that logs requests.

The provisioning tests use these instead of sid's 758 MB: the files are valid
Debian binary packages (ar, control.tar.xz, data.tar.xz), so the wrapper reads,
hashes and indexes them exactly as it does the real ones.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import http.server
import io
import json
import tarfile
import threading
from pathlib import Path

from bazel_wrapper import sid_lock, sid_root

# A small spec: one pinned package (checked after install) and one unpinned.
SPEC = {
    "suite": "sid",
    "variant": "apt",
    "pinned": {"bazel-bootstrap": "7.7.1+ds-8+b1"},
    "unpinned": ["mount"],
}
PACKAGES = [("bazel-bootstrap", "7.7.1+ds-8+b1"), ("libc6", "2.42-1"), ("mount", "2.41.2-4")]


def tar_bytes(files: dict[str, bytes], mode: str = "w:xz") -> bytes:
    """A tar archive (xz by default) of `files`, name -> bytes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _ar(members: list[tuple[str, bytes]]) -> bytes:
    out = [b"!<arch>\n"]
    for name, data in members:
        out.append(f"{name:<16}{0:<12}{0:<6}{0:<6}{'100644':<8}{len(data):<10}`\n".encode())
        out.append(data + (b"\n" if len(data) % 2 else b""))
    return b"".join(out)


def make_deb(package: str, version: str, arch: str) -> bytes:
    control = (
        f"Package: {package}\nVersion: {version}\nArchitecture: {arch}\n"
        f"Maintainer: Test <test@example.org>\nDescription: test package {package}\n"
    )
    return _ar(
        [
            ("debian-binary", b"2.0\n"),
            ("control.tar.xz", tar_bytes({"./control": control.encode()})),
            ("data.tar.xz", tar_bytes({f"./usr/share/doc/{package}/copyright": b"test\n"})),
        ]
    )


def make_set(tmp: Path) -> dict:
    """The debs in a pool tree, a lock and a spec file pinning them; paths in a dict."""
    spec_path = tmp / "sid_root.json"
    spec_path.write_text(json.dumps(SPEC))
    spec = sid_root.load_spec(spec_path)
    arch = sid_lock.host_arch()
    mirror = tmp / "mirror"
    entries = []
    for name, version in PACKAGES:
        data = make_deb(name, version, arch)
        rel = f"pool/main/{name[0]}/{name}/{name}_{version}_{arch}.deb"
        (mirror / rel).parent.mkdir(parents=True, exist_ok=True)
        (mirror / rel).write_bytes(data)
        entries.append(
            {
                "package": name,
                "version": version,
                "architecture": arch,
                "filename": rel,
                "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(),
            }
        )
    lock_path = tmp / "sid_root.lock.json"
    lock_path.write_text(json.dumps({"spec_key": spec.key(), "architectures": {arch: entries}}))
    return {"spec": spec_path, "lock": lock_path, "mirror": mirror, "entries": entries}


class _LoggingHandler(http.server.SimpleHTTPRequestHandler):
    def __init__(self, *args, log: list, **kwargs):
        self._log = log
        super().__init__(*args, **kwargs)

    def do_GET(self):  # noqa: N802 (http.server's name)
        self._log.append((self.path, self.headers.get("Authorization")))
        super().do_GET()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(directory: Path):
    """An HTTP server on 127.0.0.1 serving `directory`; yields (base URL, request log)."""
    log: list = []
    handler = functools.partial(_LoggingHandler, directory=str(directory), log=log)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()
