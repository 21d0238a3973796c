"""Run pytest on the test files Bazel passes, honouring Bazel's test protocol.

Writes JUnit XML to XML_OUTPUT_FILE, filters with TESTBRIDGE_TEST_ONLY
(`--test_filter`, a pytest -k expression), and runs only this shard's share of
the tests when Bazel shards. Test files are named explicitly so pytest never
crawls the runfiles tree.
"""

from __future__ import annotations

import os
import sys

import pytest


class _Shard:
    """Keep every TEST_TOTAL_SHARDS-th test, starting at TEST_SHARD_INDEX."""

    def __init__(self, index: int, total: int) -> None:
        self.index, self.total = index, total

    def pytest_collection_modifyitems(self, config, items):  # noqa: ARG002 (pytest hook)
        """pytest hook: drop the tests that belong to other shards."""
        items[:] = [item for i, item in enumerate(items) if i % self.total == self.index]


def main(argv: list[str]) -> int:
    """Run pytest over `argv` (test files) and return its exit code."""
    args = ["-p", "no:cacheprovider", "-ra", "--tb=short"]
    if os.environ.get("XML_OUTPUT_FILE"):
        args.append(f"--junitxml={os.environ['XML_OUTPUT_FILE']}")
    if os.environ.get("TESTBRIDGE_TEST_ONLY"):
        args += ["-k", os.environ["TESTBRIDGE_TEST_ONLY"]]
    plugins = []
    if os.environ.get("TEST_TOTAL_SHARDS"):
        plugins.append(
            _Shard(int(os.environ["TEST_SHARD_INDEX"]), int(os.environ["TEST_TOTAL_SHARDS"]))
        )
        if os.environ.get("TEST_SHARD_STATUS_FILE"):
            open(os.environ["TEST_SHARD_STATUS_FILE"], "w").close()
    return int(pytest.main(args + argv, plugins=plugins))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
