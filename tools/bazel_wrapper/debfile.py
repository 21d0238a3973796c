"""Read the control stanza of a Debian binary package (.deb) without dpkg.

A .deb is an ar archive: `debian-binary`, `control.tar[.gz|.xz|.zst]`, then the
data. Provisioning writes a Packages index for the pinned .deb files from their
own control files, so apt resolves against exactly the bytes the lock pins and no
index from the network is read. zstd (which Python reads only from 3.14) goes
through `dpkg-deb`, which every host with mmdebstrap has.
"""

from __future__ import annotations

import gzip
import io
import lzma
import subprocess
import tarfile
from pathlib import Path

AR_MAGIC = b"!<arch>\n"
# A control archive is a few KB; a bound keeps a hostile file from filling memory.
MAX_CONTROL_BYTES = 16 * 1024 * 1024


class DebError(Exception):
    """A file that is not a readable .deb; the message names the file."""


def _control_member(path: Path) -> tuple[str, bytes]:
    """The name and bytes of the `control.tar*` member of the ar archive at `path`."""
    with path.open("rb") as f:
        if f.read(8) != AR_MAGIC:
            raise DebError(f"{path.name} is not a .deb (no ar header)")
        while True:
            header = f.read(60)
            if len(header) < 60:
                raise DebError(f"{path.name} has no control.tar member")
            name = header[:16].decode("ascii", "replace").strip().rstrip("/")
            try:
                size = int(header[48:58].decode("ascii").strip())
            except ValueError:
                raise DebError(f"{path.name} has a malformed ar member header") from None
            if name.startswith("control.tar"):
                if size > MAX_CONTROL_BYTES:
                    raise DebError(
                        f"{path.name}: its {name} is {size} bytes, more than a control "
                        "archive can be"
                    )
                data = f.read(size)
                if len(data) != size:
                    raise DebError(f"{path.name} is truncated")
                return name, data
            f.seek(size + (size & 1), io.SEEK_CUR)


def _decompress(name: str, data: bytes) -> bytes | None:
    if name == "control.tar":
        return data
    if name == "control.tar.gz":
        return gzip.decompress(data)
    if name == "control.tar.xz":
        return lzma.decompress(data)
    return None


def control_text(path: Path) -> str:
    """The text of `./control` in the .deb at `path`, ending in one newline."""
    name, data = _control_member(path)
    try:
        tar_bytes = _decompress(name, data)
    except (OSError, lzma.LZMAError, EOFError) as err:
        raise DebError(f"{path.name}: its {name} cannot be decompressed ({err})") from None
    if tar_bytes is None:  # zstd or another compressor: let dpkg read it
        proc = subprocess.run(["dpkg-deb", "--field", str(path)], capture_output=True, text=True)
        if proc.returncode != 0:
            raise DebError(
                f"{path.name}: dpkg-deb cannot read its {name}: "
                f"{proc.stderr.strip().splitlines()[-1:] or ['no output']}"
            )
        return proc.stdout.rstrip("\n") + "\n"
    try:
        with tarfile.open(fileobj=io.BytesIO(tar_bytes)) as tar:
            member = next(
                (m for m in tar.getmembers() if m.isfile() and m.name.lstrip("./") == "control"),
                None,
            )
            if member is None:
                raise DebError(f"{path.name}: its {name} has no control file")
            text = tar.extractfile(member).read().decode("utf-8", "replace")
    except tarfile.TarError as err:
        raise DebError(f"{path.name}: its {name} is not a readable tar ({err})") from None
    return text.rstrip("\n") + "\n"


def fields(stanza: str) -> dict[str, str]:
    """The simple fields of a control stanza (continuation lines folded into their field)."""
    out: dict[str, str] = {}
    key = None
    for line in stanza.splitlines():
        if line.startswith((" ", "\t")) and key:
            out[key] += "\n" + line
        elif ":" in line:
            key, value = line.split(":", 1)
            out[key] = value.strip()
    return out
