"""configure_file.py expands templates as CMake's configure_file() does."""

from __future__ import annotations

import os
import subprocess
import sys

from configure_file import configure, truthy

TOOL = os.environ["CONFIGURE_FILE"]


def test_cmakedefine_true_false_and_values():
    tpl = '#cmakedefine A\n#cmakedefine B\n#cmakedefine C "${C}"\n  #  cmakedefine D 1'
    assert configure(tpl, {"A": "ON", "B": "OFF", "C": "x"}) == (
        '#define A\n/* #undef B */\n#define C "x"\n  /* #  undef D */'
    )


def test_cmakedefine01_and_substitution():
    tpl = "#cmakedefine01 X\n#cmakedefine01 Y\nv=${V} w=@W@ u=${U}"
    assert (
        configure(tpl, {"X": "1", "V": "5", "W": "six"}) == "#define X 1\n#define Y 0\nv=5 w=six u="
    )


def test_only_at_keeps_dollar_braces():
    assert configure("${A} @A@", {"A": "z"}, only_at=True) == "${A} z"


def test_cmakedefine_inside_a_comment_is_expanded_like_cmake():
    assert configure("/* #cmakedefine s @s@*/", {"s": "strtoll"}) == "/* #define s strtoll*/"


def test_cmake_truth():
    assert not any(
        truthy(v) for v in (None, "", "0", "off", "No", "FALSE", "n", "IGNORE", "x-NOTFOUND")
    )
    assert all(truthy(v) for v in ("1", "ON", "yes", "strtoll"))


def test_command_line_writes_the_file_and_rejects_bad_defines(tmp_path):
    tpl = tmp_path / "t.h.in"
    tpl.write_text("#cmakedefine HAVE_X\n")
    out = tmp_path / "t.h"
    ok = subprocess.run(
        [sys.executable, TOOL, "--template", str(tpl), "--out", str(out), "--define", "HAVE_X=1"]
    )
    assert ok.returncode == 0 and out.read_text() == "#define HAVE_X\n"
    bad = subprocess.run(
        [sys.executable, TOOL, "--template", str(tpl), "--out", str(out), "--define", "HAVE_X"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode == 2 and "VAR=VALUE" in bad.stderr
