"""ttyd 1.7.x's WebSocket protocol, on top of `ws_client`.

From ttyd 1.7.7's src/server.h and src/protocol.c:

- the client connects to `/ws` offering the subprotocol `tty`;
- its first message is JSON (first byte '{', JSON_DATA): {"AuthToken": ...,
  "columns": ..., "rows": ...}; only then does ttyd spawn the command, sized so;
- client messages start with a command byte: '0' INPUT (needs ttyd's -W, else
  ignored), '1' RESIZE_TERMINAL (+ JSON columns/rows), '2' PAUSE, '3' RESUME;
- server messages (binary frames) start with '0' OUTPUT (+ pty bytes),
  '1' SET_WINDOW_TITLE, '2' SET_PREFERENCES (+ JSON); the title and preferences
  are sent first, then output;
- when the command exits ttyd closes with 1000 (exit code 0) or 1006.

ttyd does not check whether a message came as a TEXT or BINARY frame; like
ttyd's own web client, we send JSON as TEXT and input as BINARY.
"""

from __future__ import annotations

import json
import re
import time

from ws_client import ConnectionClosed, WebSocketClient

WS_PATH = "/ws"
SUBPROTOCOL = "tty"

# Client -> server command bytes (src/server.h).
INPUT = b"0"
RESIZE_TERMINAL = b"1"
PAUSE = b"2"
RESUME = b"3"

# Server -> client command bytes.
OUTPUT = ord("0")
SET_WINDOW_TITLE = ord("1")
SET_PREFERENCES = ord("2")


class TtydSession:
    """A terminal session with ttyd: sends input, collects output.

    Attributes:
      ws: the underlying WebSocket connection.
      output: every OUTPUT byte received so far, concatenated.
      title: the last SET_WINDOW_TITLE text, or None.
      preferences: the last SET_PREFERENCES object, or None.
    """

    def __init__(self, ws: WebSocketClient) -> None:
        self.ws = ws
        self.output = bytearray()
        self.title: str | None = None
        self.preferences: dict | None = None

    @classmethod
    def open(
        cls,
        host: str,
        port: int,
        *,
        columns: int = 80,
        rows: int = 24,
        auth_token: str = "",
        auto_pong: bool = True,
        timeout: float = 10.0,
    ) -> "TtydSession":
        """Connect to ttyd and start the terminal (ttyd spawns its command now)."""
        ws = WebSocketClient.connect(
            host, port, WS_PATH, subprotocols=(SUBPROTOCOL,), auto_pong=auto_pong, timeout=timeout
        )
        session = cls(ws)
        ws.send_text(json.dumps({"AuthToken": auth_token, "columns": columns, "rows": rows}))
        return session

    def __enter__(self) -> "TtydSession":
        return self

    def __exit__(self, *exc) -> None:
        self.ws.close()

    def type(self, text: str) -> None:
        """Send keyboard input (needs ttyd -W). A terminal's Enter is "\\r"."""
        self.ws.send_binary(INPUT + text.encode())

    def resize(self, columns: int, rows: int) -> None:
        """Tell ttyd the terminal's new size."""
        self.ws.send_binary(
            RESIZE_TERMINAL + json.dumps({"columns": columns, "rows": rows}).encode()
        )

    def pump(self, timeout: float) -> bool:
        """Handle the next server message within `timeout` s; False if none came."""
        try:
            message = self.ws.recv_message(timeout)
        except TimeoutError:
            return False
        if not message.payload:
            raise ValueError("ttyd sent an empty message (no command byte)")
        command, body = message.payload[0], message.payload[1:]
        if command == OUTPUT:
            self.output += body
        elif command == SET_WINDOW_TITLE:
            self.title = body.decode("utf-8", "replace")
        elif command == SET_PREFERENCES:
            self.preferences = json.loads(body)
        else:
            raise ValueError(f"unknown ttyd command byte {command!r} in {message.payload[:40]!r}")
        return True

    def read_until(self, pattern: str | bytes, timeout: float) -> re.Match:
        """Read until `pattern` (a regex, searched in `output`) matches; return the match.

        Raises:
          TimeoutError: no match within `timeout` s (the message shows the output).
          ConnectionClosed: ttyd hung up first.
        """
        regex = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        deadline = time.monotonic() + timeout
        while True:
            match = regex.search(self.output)
            if match:
                return match
            left = deadline - time.monotonic()
            try:
                if left <= 0 or not self.pump(left):
                    raise TimeoutError(
                        f"{regex.pattern!r} not seen within {timeout} s; "
                        f"output so far: {bytes(self.output)!r}"
                    )
            except ConnectionClosed as closed:
                raise ConnectionClosed(
                    f"ttyd closed ({closed}) before {regex.pattern!r}; "
                    f"output so far: {bytes(self.output)!r}"
                ) from None
