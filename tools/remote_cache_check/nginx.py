"""nginx from Debian's pinned .deb, serving a WebDAV (PUT) HTTP cache on 127.0.0.1."""

from __future__ import annotations

import json
import platform
import shutil
import subprocess
from pathlib import Path

from mirror.debian import debian_mirror
from mirror.fill import ensure_file

from remote_cache_check import server, sid

HERE = Path(__file__).resolve().parent
LOCK = HERE / "nginx_debs.lock.json"
CONF = HERE / "nginx.conf.in"
DEB_ARCH = {"x86_64": "amd64"}


def install(base: Path) -> Path:
    """Unpack the pinned nginx .deb(s) under `base` (once); return the nginx binary."""
    arch = DEB_ARCH.get(platform.machine())
    debs = json.loads(LOCK.read_text())["debs"].get(arch or "", [])
    if not debs:
        raise server.ServerError(
            f"no nginx .deb is pinned for {platform.machine()} in {LOCK}; "
            "add one from that architecture's trixie Packages index"
        )
    key = "-".join(d["sha256"][:12] for d in debs)
    tree = base / f"nginx-{key}"
    binary = tree / "usr/sbin/nginx"
    if binary.exists():
        return binary
    staging = base / f"nginx-{key}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    mirror = debian_mirror()
    for deb in debs:
        path = base / "debs" / Path(deb["path"]).name
        # The offline mirror's download: checked against the pin, never kept if it differs.
        ensure_file(path, f"{mirror}/{deb['path']}", deb["sha256"], f"nginx .deb {deb['package']}")
        subprocess.run(["dpkg-deb", "-x", str(path), str(staging)], check=True)
    staging.rename(tree)
    return binary


def start(base: Path, run: Path) -> server.Running:
    """Start nginx with a fresh, empty cache in `run`; return it with its http:// URL."""
    binary = install(base)
    port = server.free_port()
    for sub in ("data", "body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (run / sub).mkdir(parents=True, exist_ok=True)
    conf = run / "nginx.conf"
    conf.write_text(CONF.read_text().replace("@RUN@", str(run)).replace("@PORT@", str(port)))
    argv = sid.command(
        [str(binary), "-p", str(run), "-c", str(conf), "-e", str(run / "error.log")],
        env={},
        binds=[sid.cache_dir()],
    )
    return server.start("nginx", f"http://127.0.0.1:{port}", argv, port, run / "nginx.log")
