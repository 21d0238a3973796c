"""Idle connections to ttyd: when it pings, and when it drops a client that never answers.

Expected times, from ttyd 1.7.7's src/server.c: its vhost gets its own
lws_retry_bo_t with secs_since_valid_ping = 5 and secs_since_valid_hangup = 10;
`-P n` (--ping-interval) sets them to n and n + 7. libwebsockets times both from
the handshake (and restarts on each PONG), see idle.py. Each case watches two
connections at once: one never answers PINGs (measures ping and hangup), one
answers (must still be open after the hangup time: the hangup is about the
missing PONGs, not a fixed lifetime).
"""

from __future__ import annotations

import built
import idle
import pytest
from server_process import run_server
from ttyd_client import TtydSession

# Measured times may lag the timer by scheduling and (aarch64) emulation, never lead it.
EARLY = 0.5
LATE = 2.5

CASES = [
    # (arch, ttyd options, expected ping s, expected hangup s)
    pytest.param("x86_64", (), 5, 10, id="x86_64-default"),
    pytest.param("x86_64", ("-P", "20"), 20, 27, id="x86_64-P20"),
    pytest.param("aarch64", (), 5, 10, id="aarch64-default"),
    pytest.param("aarch64", ("-P", "20"), 20, 27, id="aarch64-P20"),
]


def assert_near(what: str, measured: float | None, expected: float, detail: str) -> None:
    assert measured is not None, f"no {what}; {detail}"
    assert expected - EARLY <= measured <= expected + LATE, (
        f"{what} at {measured:.2f} s, expected {expected} s (-{EARLY}/+{LATE}); {detail}"
    )


@pytest.mark.parametrize("arch_name,options,ping,hangup", CASES)
def test_idle_ping_and_hangup(arch_name, options, ping, hangup, capsys):
    arch = built.ARCHES[arch_name]
    with run_server(built.ttyd_argv(arch, *options)) as server:

        def connect(auto_pong: bool):
            # A real client's opening: JSON_DATA spawns the shell, which prints a
            # prompt; then nothing more is sent.
            return TtydSession.open("127.0.0.1", server.port, auto_pong=auto_pong).ws

        silent, answering = idle.watch_pair(connect, hangup + LATE + 1)
        log = server.log
    options_text = " ".join(options) or "default options"
    with capsys.disabled():
        print(
            f"\n[ttyd {arch_name}, {options_text}] silent client: {silent.describe()}"
            f"\n[ttyd {arch_name}, {options_text}] answering client: {answering.describe()}"
        )
    detail = f"silent: {silent.describe()}; answering: {answering.describe()}\nttyd log:\n{log}"
    assert_near("first PING", silent.first_ping, ping, detail)
    assert len(silent.pings) == 1, f"pinged again without a PONG; {detail}"
    assert_near("hangup", silent.hangup, hangup, detail)
    assert_near("first PING to the answering client", answering.first_ping, ping, detail)
    assert answering.hangup is None, f"a client that answers PINGs was dropped; {detail}"
