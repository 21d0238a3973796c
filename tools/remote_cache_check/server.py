"""What both cache servers share: a free port, a started process, a clean stop."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path


class ServerError(Exception):
    """A cache server could not be installed or did not come up."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    """A started server: its URL for KRUNNER_REMOTE_CACHE, process and log file."""

    name: str
    url: str
    process: subprocess.Popen
    log: Path

    def stop(self) -> None:
        """Stop the server's process group (it was started in a session of its own)."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def start(
    name: str, url: str, argv: list[str], port: int, log: Path, timeout_s: float = 60
) -> Running:
    """Start `argv` and wait until 127.0.0.1:`port` accepts connections."""
    out = open(log, "wb")
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
    )
    running = Running(name, url, proc, log)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(
                f"{name} exited with status {proc.returncode} before listening; "
                f"its log ({log}) ends:\n{tail(log)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return running
        except OSError:
            time.sleep(0.3)
    running.stop()
    raise ServerError(
        f"{name} did not listen on 127.0.0.1:{port} within {timeout_s:.0f} s; "
        f"its log ({log}) ends:\n{tail(log)}"
    )


def tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
