"""Entry point of the //tools:krunner py_binary (tools/krunner is the same, for the host)."""

import sys

from krunner_cli.cli import run

sys.exit(run())
