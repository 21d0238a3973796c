"""Watch an idle WebSocket connection: when does the server ping, when does it hang up?

libwebsockets (lib/core-net/wsi-timeout.c) arms a per-connection validity timer
when the connection is established and again on every PONG it receives: after
`secs_since_valid_ping` it sends a PING, and if no PONG has come by
`secs_since_valid_hangup` (counted from the same start) it closes the connection.
Other traffic does not reset the timer. So for a client that never answers, the
first PING comes `ping` seconds and the hangup `hangup` seconds after the
handshake; a client that answers is pinged every `ping` seconds and kept.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable

from ws_client import OP_PING, Closed, ConnectionClosed, WebSocketClient


@dataclasses.dataclass
class IdleResult:
    """What happened on one idle connection, in seconds since its handshake.

    Attributes:
      pings: when each server PING arrived.
      hangup: when the connection ended, or None if it was still open at the end.
      how: how it ended ("close frame" / "eof"), or "open".
      other: names of other frames received (for diagnostics only).
    """

    pings: list[float]
    hangup: float | None
    how: str
    other: list[str]

    @property
    def first_ping(self) -> float | None:
        """When the first PING came, or None."""
        return self.pings[0] if self.pings else None

    def describe(self) -> str:
        """One line for logs and assertion messages."""
        pings = ", ".join(f"{p:.2f}" for p in self.pings) or "none"
        end = f"{self.hangup:.2f} s ({self.how})" if self.hangup is not None else "still open"
        return f"PINGs at [{pings}] s; hangup {end}; other frames: {len(self.other)}"


def watch(ws: WebSocketClient, duration: float) -> IdleResult:
    """Read from `ws` for up to `duration` seconds after its handshake, sending nothing.

    PINGs are answered or not as `ws.auto_pong` says. Returns early when the
    connection ends.
    """
    end = ws.opened_at + duration
    closed: Closed | None = None
    while closed is None:
        left = end - time.monotonic()
        if left <= 0:
            break
        try:
            ws.recv_frame(left)
        except TimeoutError:
            break
        except ConnectionClosed:
            pass
        closed = ws.closed
    pings = [f.time - ws.opened_at for f in ws.frames if f.opcode == OP_PING]
    other = [f.name for f in ws.frames if f.opcode != OP_PING]
    if closed is None:
        return IdleResult(pings, None, "open", other)
    return IdleResult(pings, closed.time - ws.opened_at, closed.how, other)


def watch_pair(
    connect: Callable[[bool], WebSocketClient], duration: float
) -> tuple[IdleResult, IdleResult]:
    """Watch two connections at once: one that never answers PINGs, one that does.

    `connect(auto_pong)` opens a connection (and may send a greeting). Returns
    (silent, answering) results. Both run concurrently so the wait is paid once.
    """
    results: dict[bool, IdleResult | BaseException] = {}

    def run(auto_pong: bool) -> None:
        try:
            with connect(auto_pong) as ws:
                results[auto_pong] = watch(ws, duration)
        except BaseException as err:  # re-raised in the caller's thread
            results[auto_pong] = err

    threads = [threading.Thread(target=run, args=(flag,)) for flag in (False, True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for value in results.values():
        if isinstance(value, BaseException):
            raise value
    return results[False], results[True]
