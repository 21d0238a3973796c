"""A small RFC 6455 WebSocket client for tests: no dependencies beyond the stdlib.

Made for observing a server, not for production use:

- every received frame is kept, with the `time.monotonic()` at which its last
  byte arrived, so tests can measure when a server pinged or hung up;
- answering PINGs is optional (`auto_pong=False` makes a client that never
  answers, to trigger a server's idle hangup);
- the end of the connection (a CLOSE frame or the TCP stream ending) is recorded
  with its time too.

Only what talking to a plain `ws://` server needs: no TLS, no extensions
(permessage-deflate is never offered, so RSV bits must be clear).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import os
import select
import socket
import struct
import time

# The GUID that RFC 6455 section 1.3 appends to the key for Sec-WebSocket-Accept.
_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

OPCODE_NAMES = {
    OP_CONTINUATION: "CONTINUATION",
    OP_TEXT: "TEXT",
    OP_BINARY: "BINARY",
    OP_CLOSE: "CLOSE",
    OP_PING: "PING",
    OP_PONG: "PONG",
}


class WebSocketError(Exception):
    """The server broke the protocol, or refused the handshake."""


class ConnectionClosed(Exception):
    """The connection ended (CLOSE frame or end of the TCP stream) before the awaited event."""


@dataclasses.dataclass(frozen=True)
class Frame:
    """One received frame.

    Attributes:
      opcode: the frame's opcode (OP_TEXT, OP_PING, ...).
      payload: the unmasked payload bytes.
      fin: whether the FIN bit was set.
      time: `time.monotonic()` when the frame was complete.
    """

    opcode: int
    payload: bytes
    fin: bool
    time: float

    @property
    def name(self) -> str:
        """The opcode's name, for messages."""
        return OPCODE_NAMES.get(self.opcode, hex(self.opcode))


@dataclasses.dataclass(frozen=True)
class Closed:
    """How and when the connection ended.

    Attributes:
      time: `time.monotonic()` when the end was seen.
      how: "close frame" or "eof" (the TCP stream ended, or was reset, without one).
      code: the status code of a CLOSE frame, if it carried one.
      reason: the CLOSE frame's reason text.
    """

    time: float
    how: str
    code: int | None = None
    reason: str = ""


def encode_frame(
    opcode: int, payload: bytes, *, fin: bool = True, mask_key: bytes | None = None
) -> bytes:
    """A client frame: clients must mask every frame (RFC 6455 section 5.3)."""
    mask_key = os.urandom(4) if mask_key is None else mask_key
    if len(mask_key) != 4:
        raise ValueError("a mask key is 4 bytes")
    head = bytearray([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head.append(0x80 | n)
    elif n < 1 << 16:
        head.append(0x80 | 126)
        head += struct.pack("!H", n)
    else:
        head.append(0x80 | 127)
        head += struct.pack("!Q", n)
    masked = bytes(b ^ mask_key[i % 4] for i, b in enumerate(payload))
    return bytes(head) + mask_key + masked


def accept_key(key: str) -> str:
    """The Sec-WebSocket-Accept value a server must answer `key` with."""
    return base64.b64encode(hashlib.sha1(key.encode() + _ACCEPT_GUID).digest()).decode()


class WebSocketClient:
    """A blocking client connection. Use `connect()`, or as a context manager.

    Attributes:
      frames: every frame received so far, in order (control frames included).
      closed: how the connection ended, once it has; None while it is open.
      opened_at: `time.monotonic()` when the server's handshake response was read.
      response_headers: the handshake response's headers, lower-cased names.
      subprotocol: the Sec-WebSocket-Protocol the server chose, or None.
    """

    def __init__(self, sock: socket.socket, *, auto_pong: bool) -> None:
        self.sock = sock
        self.auto_pong = auto_pong
        self.frames: list[Frame] = []
        self.closed: Closed | None = None
        self.opened_at = 0.0
        self.response_headers: dict[str, str] = {}
        self.subprotocol: str | None = None
        self._buf = bytearray()
        self._close_sent = False

    @classmethod
    def connect(
        cls,
        host: str,
        port: int,
        path: str = "/",
        *,
        subprotocols: tuple[str, ...] = (),
        auto_pong: bool = True,
        timeout: float = 10.0,
        headers: dict[str, str] | None = None,
    ) -> "WebSocketClient":
        """Open a TCP connection and perform the opening handshake.

        Args:
          host: server address (also sent as the Host header with `port`).
          port: server TCP port.
          path: the request target, e.g. "/ws".
          subprotocols: offered in Sec-WebSocket-Protocol; the server must pick
            one of them if any are offered.
          auto_pong: answer each PING with a PONG carrying the same payload.
          timeout: seconds allowed for connecting and for the handshake.
          headers: extra request headers.

        Raises:
          WebSocketError: the server did not accept the upgrade correctly.
        """
        sock = socket.create_connection((host, port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = cls(sock, auto_pong=auto_pong)
        try:
            client._handshake(host, port, path, subprotocols, headers or {}, timeout)
        except BaseException:
            sock.close()
            raise
        return client

    def _handshake(
        self,
        host: str,
        port: int,
        path: str,
        subprotocols: tuple[str, ...],
        headers: dict[str, str],
        timeout: float,
    ) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if subprotocols:
            lines.append(f"Sec-WebSocket-Protocol: {', '.join(subprotocols)}")
        lines += [f"{k}: {v}" for k, v in headers.items()]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())

        deadline = time.monotonic() + timeout
        while b"\r\n\r\n" not in self._buf:
            if not self._fill(deadline):
                raise WebSocketError(
                    f"no complete handshake response within {timeout} s; got {bytes(self._buf)!r}"
                )
        self.opened_at = time.monotonic()
        head, _, rest = bytes(self._buf).partition(b"\r\n\r\n")
        self._buf = bytearray(rest)
        status, *header_lines = head.decode("latin-1").split("\r\n")
        parts = status.split(" ", 2)
        if len(parts) < 2 or parts[1] != "101":
            raise WebSocketError(f"server refused the upgrade: {status!r}")
        for line in header_lines:
            name, _, value = line.partition(":")
            self.response_headers[name.strip().lower()] = value.strip()
        if self.response_headers.get("sec-websocket-accept") != accept_key(key):
            raise WebSocketError(f"bad Sec-WebSocket-Accept in {self.response_headers}")
        self.subprotocol = self.response_headers.get("sec-websocket-protocol")
        if subprotocols and self.subprotocol not in subprotocols:
            raise WebSocketError(
                f"server chose subprotocol {self.subprotocol!r}, offered {subprotocols}"
            )

    def __enter__(self) -> "WebSocketClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # Sending.

    def send_frame(self, opcode: int, payload: bytes = b"", *, fin: bool = True) -> None:
        """Send one masked frame."""
        self.sock.sendall(encode_frame(opcode, payload, fin=fin))

    def send_text(self, text: str) -> None:
        """Send a TEXT message."""
        self.send_frame(OP_TEXT, text.encode())

    def send_binary(self, data: bytes) -> None:
        """Send a BINARY message."""
        self.send_frame(OP_BINARY, data)

    def send_ping(self, payload: bytes = b"") -> None:
        """Send a PING (at most 125 bytes of payload)."""
        self.send_frame(OP_PING, payload)

    def send_close(self, code: int = 1000, reason: str = "") -> None:
        """Send a CLOSE frame (once)."""
        if not self._close_sent:
            self._close_sent = True
            self.send_frame(OP_CLOSE, struct.pack("!H", code) + reason.encode())

    def close(self) -> None:
        """Say goodbye if still open, then close the socket."""
        try:
            if self.closed is None:
                self.send_close()
        except OSError:
            pass
        self.sock.close()

    # Receiving.

    def _fill(self, deadline: float | None) -> bool:
        """Read more bytes into the buffer. False on timeout; ConnectionClosed-free.

        At the end of the stream this records `closed` (as "eof") and returns True
        with nothing added, so callers must check `closed`.
        """
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            return False
        ready, _, _ = select.select([self.sock], [], [], remaining)
        if not ready:
            return False
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            if self.closed is None:
                self.closed = Closed(time=time.monotonic(), how="eof")
            return True
        self._buf += chunk
        return True

    def _parse_one(self) -> Frame | None:
        """Take one complete frame off the buffer, or None if it is incomplete."""
        buf = self._buf
        if len(buf) < 2:
            return None
        b0, b1 = buf[0], buf[1]
        if b0 & 0x70:
            raise WebSocketError(f"RSV bits set without a negotiated extension: {b0:#04x}")
        if b1 & 0x80:
            raise WebSocketError("server frames must not be masked (RFC 6455 section 5.1)")
        n, pos = b1 & 0x7F, 2
        if n == 126:
            if len(buf) < 4:
                return None
            n, pos = struct.unpack_from("!H", buf, 2)[0], 4
        elif n == 127:
            if len(buf) < 10:
                return None
            n, pos = struct.unpack_from("!Q", buf, 2)[0], 10
        if len(buf) < pos + n:
            return None
        frame = Frame(
            opcode=b0 & 0x0F,
            payload=bytes(buf[pos : pos + n]),
            fin=bool(b0 & 0x80),
            time=time.monotonic(),
        )
        del buf[: pos + n]
        return frame

    def recv_frame(self, timeout: float | None = None) -> Frame:
        """Return the next frame of any kind (PINGs are answered first if auto_pong).

        Raises:
          TimeoutError: nothing complete arrived within `timeout` seconds.
          ConnectionClosed: the stream ended (after a CLOSE frame was returned, or without one).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            frame = self._parse_one()
            if frame is not None:
                self._record(frame)
                return frame
            if self.closed is not None:
                raise ConnectionClosed(self.closed)
            if not self._fill(deadline):
                raise TimeoutError(f"no frame within {timeout} s")

    def _record(self, frame: Frame) -> None:
        self.frames.append(frame)
        if frame.opcode == OP_PING and self.auto_pong:
            self.send_frame(OP_PONG, frame.payload)
        elif frame.opcode == OP_CLOSE and self.closed is None:
            code = struct.unpack("!H", frame.payload[:2])[0] if len(frame.payload) >= 2 else None
            self.closed = Closed(
                time=frame.time,
                how="close frame",
                code=code,
                reason=frame.payload[2:].decode("utf-8", "replace"),
            )
            try:  # Echo the close, as RFC 6455 section 5.5.1 asks.
                self.send_close(code if code is not None else 1000)
            except OSError:
                pass

    def recv_message(self, timeout: float | None = None) -> Frame:
        """Return the next TEXT or BINARY message, joining continuation frames.

        Control frames received meanwhile are recorded in `frames` (and PINGs
        answered if auto_pong) but not returned. The result's `time` is when
        the last fragment arrived.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        parts: list[Frame] = []
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            frame = self.recv_frame(left)
            if frame.opcode >= OP_CLOSE:
                continue
            if not parts and frame.opcode == OP_CONTINUATION:
                raise WebSocketError("continuation frame without a message to continue")
            if parts and frame.opcode != OP_CONTINUATION:
                raise WebSocketError(f"{frame.name} frame inside a fragmented message")
            parts.append(frame)
            if frame.fin:
                return Frame(
                    opcode=parts[0].opcode,
                    payload=b"".join(p.payload for p in parts),
                    fin=True,
                    time=frame.time,
                )

    def wait_closed(self, timeout: float) -> Closed:
        """Read (and record) frames until the connection ends; return how it ended.

        Raises:
          TimeoutError: still open after `timeout` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.recv_frame(max(0.0, deadline - time.monotonic()))
            except ConnectionClosed:
                assert self.closed is not None
                return self.closed
            if self.closed is not None and self.closed.how == "close frame":
                # The server may keep the TCP stream open a moment after its CLOSE.
                return self.closed
