"""The ping/hangup patch is in the libwebsockets that was built, shown by behaviour.

lws_echo_server.c links //third_party/libwebsockets:libwebsockets and sets no
retry policy, so its connections use the context's default_retry from
lib/core/context.c: 300 s / 310 s upstream, 20 s / 30 s with
third_party/libwebsockets/ping_hangup.patch. A PING near 20 s and a hangup near
30 s for a client that never answers can only come from the patched defaults.
"""

from __future__ import annotations

import re

import built
import idle
from server_process import run_server
from ws_client import WebSocketClient

PATCHED_PING = 20
PATCHED_HANGUP = 30
EARLY = 0.5
LATE = 2.5


def connect(port: int, auto_pong: bool) -> WebSocketClient:
    return WebSocketClient.connect(
        "127.0.0.1", port, "/", subprotocols=("echo",), auto_pong=auto_pong
    )


def test_echo_server_echoes():
    """The server under test is a working WebSocket server (so silence below means something)."""
    with run_server([str(built.runfile("LWS_ECHO_SERVER"))]) as server:
        with connect(server.port, True) as ws:
            ws.send_text("hello")
            assert ws.recv_message(10).payload == b"hello"
            ws.send_binary(bytes(range(256)) * 8)
            assert ws.recv_message(10).payload == bytes(range(256)) * 8
        assert re.search(r"libwebsockets 4\.3\.5(-\S+)?$", server.log, re.M), server.log


def test_default_retry_policy_is_20_30(capsys):
    with run_server([str(built.runfile("LWS_ECHO_SERVER"))]) as server:
        silent, answering = idle.watch_pair(
            lambda auto_pong: connect(server.port, auto_pong), PATCHED_HANGUP + LATE + 1
        )
        log = server.log
    with capsys.disabled():
        print(
            f"\n[lws_echo_server, no retry policy] silent client: {silent.describe()}"
            f"\n[lws_echo_server, no retry policy] answering client: {answering.describe()}"
        )
    detail = f"silent: {silent.describe()}; answering: {answering.describe()}\nserver log:\n{log}"
    assert silent.first_ping is not None, (
        f"no PING within {PATCHED_HANGUP + LATE + 1} s: the library has upstream's 300 s default, "
        f"is ping_hangup.patch applied? {detail}"
    )
    assert PATCHED_PING - EARLY <= silent.first_ping <= PATCHED_PING + LATE, detail
    assert silent.hangup is not None, f"not disconnected: {detail}"
    assert PATCHED_HANGUP - EARLY <= silent.hangup <= PATCHED_HANGUP + LATE, detail
    assert answering.first_ping is not None and answering.hangup is None, detail
