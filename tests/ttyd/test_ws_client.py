"""The test WebSocket client and ttyd protocol layer, against scripted fake servers.

The behaviour tests trust these modules to tell a server's PING and hangup times
apart, so their framing, handshake checks and bookkeeping are checked here on
exact bytes, without ttyd.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
from collections.abc import Callable

import pytest
import ttyd_client
import ws_client
from ws_client import OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT


def server_frame(
    opcode: int, payload: bytes = b"", *, fin: bool = True, masked: bool = False
) -> bytes:
    """A frame as a server sends it (unmasked unless asked)."""
    if masked:
        return ws_client.encode_frame(opcode, payload, fin=fin)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([n])
    elif n < 1 << 16:
        head += bytes([126]) + struct.pack("!H", n)
    else:
        head += bytes([127]) + struct.pack("!Q", n)
    return head + payload


def read_client_frame(conn: socket.socket) -> tuple[int, bool, bytes]:
    """Read one (masked) client frame: (opcode, fin, unmasked payload)."""

    def exact(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise EOFError("client closed")
            data += chunk
        return data

    b0, b1 = exact(2)
    assert b1 & 0x80, "client frames must be masked"
    n = b1 & 0x7F
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    key = exact(4)
    payload = bytes(b ^ key[i % 4] for i, b in enumerate(exact(n)))
    return b0 & 0x0F, bool(b0 & 0x80), payload


class FakeServer:
    """A one-connection server on 127.0.0.1 running `script(conn, request)` in a thread."""

    def __init__(
        self,
        script: Callable[[socket.socket, dict[str, str]], None],
        *,
        status: str = "101 Switching Protocols",
        accept: str | None = None,
        protocol: str | None = None,
    ) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.script, self.status, self.accept, self.protocol = script, status, accept, protocol
        self.request: dict[str, str] = {}
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        try:
            conn, _ = self.listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(4096)
                request_line, *lines = data.split(b"\r\n\r\n")[0].decode().split("\r\n")
                self.request = {"request-line": request_line}
                self.request.update(
                    {
                        k.strip().lower(): v.strip()
                        for k, _, v in (line.partition(":") for line in lines)
                    }
                )
                accept = self.accept or ws_client.accept_key(self.request["sec-websocket-key"])
                head = [
                    f"HTTP/1.1 {self.status}",
                    "Upgrade: websocket",
                    "Connection: Upgrade",
                    f"Sec-WebSocket-Accept: {accept}",
                ]
                if self.protocol:
                    head.append(f"Sec-WebSocket-Protocol: {self.protocol}")
                conn.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
                self.script(conn, self.request)
        except BaseException as err:  # reported by join()
            self.error = err
        finally:
            self.listener.close()

    def join(self) -> None:
        """Wait for the script to finish; re-raise what failed in it."""
        self.thread.join(10)
        assert not self.thread.is_alive(), "fake server script did not finish"
        if self.error:
            raise self.error


def test_accept_key_matches_rfc6455_example():
    # RFC 6455 section 1.3.
    assert ws_client.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


@pytest.mark.parametrize("size,header_len", [(0, 2), (125, 2), (126, 4), (65535, 4), (65536, 10)])
def test_encode_frame_lengths_and_masking(size, header_len):
    payload = bytes(i % 251 for i in range(size))
    frame = ws_client.encode_frame(OP_BINARY, payload, mask_key=b"\x01\x02\x03\x04")
    assert frame[0] == 0x80 | OP_BINARY
    assert frame[1] & 0x80
    assert len(frame) == header_len + 4 + size
    key = frame[header_len : header_len + 4]
    assert key == b"\x01\x02\x03\x04"
    assert bytes(b ^ key[i % 4] for i, b in enumerate(frame[header_len + 4 :])) == payload


def test_handshake_sends_subprotocol_and_reads_frames_with_times():
    def script(conn, request):
        conn.sendall(server_frame(OP_PING, b"p1"))
        assert read_client_frame(conn) == (OP_PONG, True, b"p1")
        conn.sendall(
            server_frame(OP_TEXT, b"hel", fin=False)
            + server_frame(OP_PING, b"p2")
            + server_frame(OP_CONTINUATION, b"lo")
        )
        assert read_client_frame(conn) == (OP_PONG, True, b"p2")
        conn.sendall(server_frame(OP_BINARY, b"\x00" * 70000))
        assert read_client_frame(conn) == (OP_TEXT, True, b"bye")
        conn.sendall(server_frame(OP_CLOSE, struct.pack("!H", 1001) + b"going"))
        assert read_client_frame(conn) == (OP_CLOSE, True, struct.pack("!H", 1001))

    server = FakeServer(script, protocol="tty")
    with ws_client.WebSocketClient.connect(
        "127.0.0.1", server.port, "/ws", subprotocols=("tty", "x")
    ) as ws:
        assert ws.subprotocol == "tty"
        assert ws.recv_frame(5).opcode == OP_PING
        message = ws.recv_message(5)
        assert (message.opcode, message.payload) == (OP_TEXT, b"hello")
        assert ws.recv_message(5).payload == b"\x00" * 70000
        ws.send_text("bye")
        closed = ws.wait_closed(5)
    server.join()
    assert server.request["request-line"] == "GET /ws HTTP/1.1"
    assert server.request["sec-websocket-protocol"] == "tty, x"
    assert server.request["upgrade"].lower() == "websocket"
    assert server.request["sec-websocket-version"] == "13"
    assert (closed.how, closed.code, closed.reason) == ("close frame", 1001, "going")
    names = [f.name for f in ws.frames]
    assert names == ["PING", "TEXT", "PING", "CONTINUATION", "BINARY", "CLOSE"]
    times = [f.time for f in ws.frames]
    assert times == sorted(times) and times[0] >= ws.opened_at


def test_silent_client_never_answers_pings_and_sees_eof():
    def script(conn, request):
        conn.sendall(server_frame(OP_PING, b"a") + server_frame(OP_PING, b"b"))
        conn.settimeout(0.5)
        with pytest.raises(socket.timeout):
            conn.recv(1)  # no PONG (nor anything else) comes back
        conn.shutdown(socket.SHUT_RDWR)

    server = FakeServer(script)
    with ws_client.WebSocketClient.connect("127.0.0.1", server.port, auto_pong=False) as ws:
        closed = ws.wait_closed(5)
    server.join()
    assert closed.how == "eof" and closed.code is None
    assert [f.payload for f in ws.frames] == [b"a", b"b"]
    assert closed.time >= ws.frames[-1].time


def test_recv_frame_times_out_without_data():
    release = threading.Event()
    server = FakeServer(lambda conn, request: release.wait(5))
    with ws_client.WebSocketClient.connect("127.0.0.1", server.port) as ws:
        with pytest.raises(TimeoutError):
            ws.recv_frame(0.2)
        assert ws.closed is None
        release.set()
    server.join()


@pytest.mark.parametrize(
    "kwargs,offered,match",
    [
        ({"status": "403 Forbidden"}, (), "refused the upgrade"),
        ({"accept": "AAAAAAAAAAAAAAAAAAAAAAAAAAA="}, (), "Sec-WebSocket-Accept"),
        ({"protocol": "other"}, ("tty",), "subprotocol"),
        ({}, ("tty",), "subprotocol"),
    ],
)
def test_bad_handshakes_are_refused(kwargs, offered, match):
    server = FakeServer(lambda conn, request: None, **kwargs)
    with pytest.raises(ws_client.WebSocketError, match=match):
        ws_client.WebSocketClient.connect("127.0.0.1", server.port, subprotocols=offered)
    server.join()


@pytest.mark.parametrize(
    "frame,match",
    [
        (server_frame(OP_TEXT, b"x", masked=True), "masked"),
        (bytes([0x80 | 0x40 | OP_TEXT, 1]) + b"x", "RSV"),
    ],
)
def test_protocol_violations_are_errors(frame, match):
    server = FakeServer(lambda conn, request: conn.sendall(frame))
    with ws_client.WebSocketClient.connect("127.0.0.1", server.port) as ws:
        with pytest.raises(ws_client.WebSocketError, match=match):
            ws.recv_frame(5)
    server.join()


def test_ttyd_session_speaks_ttyd_protocol():
    def script(conn, request):
        opcode, _, payload = read_client_frame(conn)
        assert opcode == OP_TEXT
        assert json.loads(payload) == {"AuthToken": "", "columns": 100, "rows": 30}
        conn.sendall(
            server_frame(OP_BINARY, b"1/bin/sh (host)")
            + server_frame(OP_BINARY, b'2{"fontSize": 12}')
            + server_frame(OP_BINARY, b"0$ ")
        )
        assert read_client_frame(conn) == (OP_BINARY, True, b"0echo hello\r")
        conn.sendall(
            server_frame(OP_BINARY, b"0echo hello\r\n") + server_frame(OP_BINARY, b"0hello\r\n$ ")
        )
        assert read_client_frame(conn) == (OP_BINARY, True, b'1{"columns": 90, "rows": 20}')

    server = FakeServer(script, protocol="tty")
    with ttyd_client.TtydSession.open("127.0.0.1", server.port, columns=100, rows=30) as session:
        session.read_until(r"\$ $", 5)
        session.type("echo hello\r")
        match = session.read_until(r"(?<!echo )hello\r\n", 5)
        session.resize(90, 20)
    server.join()
    assert server.request["request-line"] == "GET /ws HTTP/1.1"
    assert server.request["sec-websocket-protocol"] == "tty"
    assert match.start() == len(b"$ echo hello\r\n")
    assert session.title == "/bin/sh (host)"
    assert session.preferences == {"fontSize": 12}


def test_ttyd_session_read_until_reports_output_on_timeout():
    release = threading.Event()

    def script(conn, request):
        read_client_frame(conn)
        conn.sendall(server_frame(OP_BINARY, b"0nothing useful"))
        release.wait(5)

    server = FakeServer(script, protocol="tty")
    with ttyd_client.TtydSession.open("127.0.0.1", server.port) as session:
        with pytest.raises(TimeoutError, match="nothing useful"):
            session.read_until("hello", 0.5)
        release.set()
    server.join()
