"""CMake's configure_file() for C headers, so Bazel generates config headers from
upstream's own templates instead of anyone checking in CMake's output.

Supported, as CMake does them: `#cmakedefine VAR [rest]` (a #define when VAR is
true, else `/* #undef VAR */`), `#cmakedefine01 VAR` (`#define VAR 0|1`), and
`${VAR}` / `@VAR@` substitution (unset variables become empty). Values come from
`--define VAR=VALUE` arguments; a false value is CMake's: "", 0, OFF, NO, FALSE,
N, IGNORE, NOTFOUND or *-NOTFOUND.
"""

from __future__ import annotations

import argparse
import re
import sys

_FALSE = {"", "0", "OFF", "NO", "FALSE", "N", "IGNORE", "NOTFOUND"}
_VAR = re.compile(r"\$\{(\w+)\}|@(\w+)@")
# Like CMake, a #cmakedefine is recognised anywhere in a line (even inside a comment).
_CMAKEDEFINE = re.compile(r"()#([ \t]*)cmakedefine(01)?[ \t]+(\w+)(.*)$")


def truthy(value: str | None) -> bool:
    """CMake's if() truth for a variable's value (None: unset)."""
    return (
        value is not None
        and value.upper() not in _FALSE
        and not value.upper().endswith("-NOTFOUND")
    )


def substitute(text: str, values: dict[str, str], only_at: bool = False) -> str:
    """Replace ${VAR} and @VAR@ (only @VAR@ with `only_at`, CMake's @ONLY)."""

    def repl(m: re.Match) -> str:
        if m.group(1) and only_at:
            return m.group(0)
        return values.get(m.group(1) or m.group(2), "")

    return _VAR.sub(repl, text)


def configure(template: str, values: dict[str, str], only_at: bool = False) -> str:
    """The configured text of `template`."""
    out = []
    for line in template.split("\n"):
        m = _CMAKEDEFINE.search(line)
        if m:
            _, space, is01, name, rest = m.groups()
            indent = line[: m.start()]
            on = truthy(values.get(name))
            if is01:
                line = f"{indent}#{space}define {name} {1 if on else 0}"
            elif on:
                line = f"{indent}#{space}define {name}{substitute(rest, values, only_at)}"
            else:
                line = f"{indent}/* #{space}undef {name} */"
        else:
            line = substitute(line, values, only_at)
        out.append(line)
    return "\n".join(out)


def main(argv: list[str]) -> int:
    """Configure `--template` into `--out` with the `--define`s given."""
    p = argparse.ArgumentParser(
        description=__doc__,
        fromfile_prefix_chars="@",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--template", required=True, help="the .in / .cmakein template")
    p.add_argument("--out", required=True, help="the header to write")
    p.add_argument("--define", action="append", default=[], metavar="VAR=VALUE", help="a variable")
    p.add_argument("--only-at", action="store_true", help="substitute @VAR@ only (CMake's @ONLY)")
    args = p.parse_args(argv)
    values = {}
    for d in args.define:
        name, sep, value = d.partition("=")
        if not sep:
            print(f"configure_file: --define {d!r} needs VAR=VALUE", file=sys.stderr)
            return 2
        values[name] = value
    with open(args.template) as f:
        text = configure(f.read(), values, args.only_at)
    with open(args.out, "w") as f:
        f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
