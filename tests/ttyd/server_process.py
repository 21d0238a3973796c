"""Run a server under test on 127.0.0.1 and always stop it (and its children).

The server is told to listen on port 0 and reports the port the kernel chose on
stderr, so no port is guessed and no two tests can race for one.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Iterator

# ttyd 1.7.7 logs this (src/server.c: lwsl_notice(" Listening on port: %d\n", port));
# tests/ttyd/lws_echo_server.c prints the same words.
LISTENING = re.compile(r"Listening on port: (\d+)")


class ServerProcess:
    """A started server: its port, and everything it has written to stderr."""

    def __init__(self, proc: subprocess.Popen) -> None:
        self.proc = proc
        self.port: int | None = None
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._cond:
                self._lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._lines.append("")  # an empty entry marks the end of stderr
            self._cond.notify_all()

    @property
    def log(self) -> str:
        """stderr so far."""
        with self._cond:
            return self._joined()

    def wait_for_log(self, pattern: re.Pattern | str, timeout: float) -> re.Match:
        """Wait until a stderr line matches `pattern`; return the match.

        Raises:
          RuntimeError: the server exited first, or nothing matched in time
            (the message carries the log).
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._cond:
            while True:
                for line in self._lines[seen:]:
                    match = regex.search(line)
                    if match:
                        return match
                seen = len(self._lines)
                if self.proc.poll() is not None and not self._reader.is_alive():
                    raise RuntimeError(
                        f"server exited ({self.proc.returncode}) before logging "
                        f"{regex.pattern!r}:\n{self._joined()}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(
                        f"server did not log {regex.pattern!r} within {timeout} s:\n"
                        f"{self._joined()}"
                    )
                self._cond.wait(min(left, 0.2))

    def _joined(self) -> str:
        """stderr so far; the caller holds the lock."""
        return "\n".join(self._lines)

    def stop(self) -> None:
        """SIGTERM the server's process group, SIGKILL it if it lingers."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        # Whatever is left in the group (a shell ttyd spawned, qemu's threads) goes too.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._reader.join(5)


@contextlib.contextmanager
def run_server(argv: list[str], *, startup_timeout: float = 30.0) -> Iterator[ServerProcess]:
    """Start `argv` (which must make it listen on 127.0.0.1 port 0) and yield it with its port.

    The server gets its own process group, killed on the way out whatever happens.
    """
    proc = subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    server = ServerProcess(proc)
    try:
        server.port = int(server.wait_for_log(LISTENING, startup_timeout).group(1))
        yield server
    finally:
        server.stop()
