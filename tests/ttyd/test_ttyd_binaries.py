"""Run the built ttyd binaries: how they are linked, what they report, a shell over WebSocket.

Each test runs for x86_64 natively and for aarch64 under qemu-aarch64.
"""

from __future__ import annotations

import re
import subprocess
import urllib.request

import built
import pytest
from server_process import run_server
from support import elf
from ttyd_client import TtydSession

ARCH_NAMES = sorted(built.ARCHES)


@pytest.fixture(params=ARCH_NAMES)
def arch(request) -> built.Arch:
    return built.ARCHES[request.param]


def test_static_elf_of_the_right_machine(arch):
    info = elf.read_elf(built.runfile(arch.env))
    assert info.machine == arch.machine, (
        f"e_machine {info.machine}, want {arch.machine} ({arch.name})"
    )
    assert info.interpreter is None, f"dynamically linked: PT_INTERP {info.interpreter}"
    assert info.needed == [], f"needs shared libraries: {info.needed}"


def test_stripped(arch):
    assert not elf.read_elf(built.runfile(arch.env)).has_symtab, "has a .symtab: not stripped"


def test_version_is_1_7_7(arch):
    argv = [*built.emulator_prefix(arch.emulator), str(built.runfile(arch.env)), "--version"]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True).stdout
    # src/server.c: printf("ttyd version %s\n", TTYD_VERSION); upstream's release
    # builds append "-<git commit>" to the CMake project version.
    assert re.fullmatch(r"ttyd version 1\.7\.7(-[0-9a-f]+)?\n", out), out


def test_reports_libwebsockets_4_3_5(arch, capsys):
    """ttyd has no flag that prints the lws version; it logs it at startup and sends it as Server."""
    with run_server(built.ttyd_argv(arch)) as server:
        with urllib.request.urlopen(
            f"http://127.0.0.1:{server.port}/token", timeout=30
        ) as response:
            header = response.headers["Server"]
            token = response.read()
        log = server.log
    # src/server.c: lwsl_notice("ttyd %s (libwebsockets %s)\n", TTYD_VERSION, LWS_LIBRARY_VERSION)
    ttyd_line = re.search(r"N: ttyd (\S+) \(libwebsockets (\S+)\)", log)
    # lib/core/context.c: lwsl_cx_notice(context, "LWS: %s, ...", library_version): the library's own word.
    lws_line = re.search(r"LWS: ([^,\s]+),", log)
    assert ttyd_line and lws_line, f"version lines missing from the startup log:\n{log}"
    ttyd_version, lws_header_version = ttyd_line.groups()
    lws_library_version = lws_line.group(1)
    with capsys.disabled():
        print(
            f"\n[{arch.name}] startup log: ttyd {ttyd_version}, libwebsockets {lws_header_version} "
            f"(library says {lws_library_version}); Server: {header}"
        )
    version = re.compile(r"4\.3\.5(-\S+)?")
    assert re.fullmatch(r"1\.7\.7(-[0-9a-f]+)?", ttyd_version)
    assert version.fullmatch(lws_header_version) and version.fullmatch(lws_library_version)
    assert header == f"ttyd/{ttyd_version} (libwebsockets/{lws_header_version})"
    assert token == b'{"token": ""}'


def test_serves_a_shell_over_websocket(arch):
    with run_server(built.ttyd_argv(arch)) as server:
        with TtydSession.open("127.0.0.1", server.port) as session:
            session.type("echo hello\r")
            # The terminal echoes what was typed ("... echo hello"); the command's
            # own output is a "hello" not preceded by "echo ".
            session.read_until(r"(?<!echo )hello\r\n", timeout=30)
            assert session.title is not None and session.title.startswith("/bin/sh ("), (
                session.title
            )
            assert session.preferences == {}
        # ttyd logs the child asynchronously: wait for the line rather than race it.
        server.wait_for_log("started process", timeout=10)
