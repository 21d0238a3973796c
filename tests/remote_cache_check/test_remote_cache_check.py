"""tools/check_remote_cache's judgement: Bazel's summary line and the misses it names."""

from __future__ import annotations

import json
import re

import pytest
from remote_cache_check import execlog, summary
from remote_cache_check.buildgrid import REQUIREMENTS

FULL_HITS = "(12:00:01) INFO: 276 processes: 254 remote cache hit, 22 internal."
COLD = "(12:00:01) INFO: 276 processes: 22 internal, 254 linux-sandbox."


def test_all_hits_is_no_miss():
    s = summary.parse(
        f"noise\n{COLD}\nmore noise\n{FULL_HITS}\nINFO: Build completed successfully\n"
    )
    assert (s.total, s.remote_hits, s.remotable, s.misses) == (276, 254, 254, 0)
    assert s.line == FULL_HITS


def test_local_spawns_in_b_are_misses():
    s = summary.parse("INFO: 276 processes: 250 remote cache hit, 22 internal, 4 linux-sandbox.")
    assert s.misses == 4


def test_one_process_and_no_summary():
    assert summary.parse("INFO: 1 process: 1 internal.").misses == 0
    with pytest.raises(ValueError):
        summary.parse("ERROR: build failed\n")


def spawn(out, hit, env=None, digest="aa", remotable=True):
    return {
        "mnemonic": "CppCompile",
        "targetLabel": "//x:y",
        "remotable": remotable,
        "cacheable": True,
        "cacheHit": hit,
        "runner": "remote cache hit" if hit else "linux-sandbox",
        "commandArgs": ["cc", "-c", "x.c"],
        "environmentVariables": [{"name": k, "value": v} for k, v in (env or {}).items()],
        "inputs": [{"path": "x.c", "digest": {"hash": digest}}],
        "listedOutputs": [out],
    }


def write_log(path, spawns):
    # Bazel writes a stream of pretty-printed objects, not an array.
    path.write_text("".join(json.dumps(s, indent=2) + "\n" for s in spawns))
    return path


def test_explain_names_the_env_var_and_input_that_differ(tmp_path):
    a = write_log(
        tmp_path / "a.json",
        [spawn("bazel-out/x.o", False, {"HOME": "/home/a"}, "aa"), spawn("bazel-out/y.o", False)],
    )
    b = write_log(
        tmp_path / "b.json",
        [
            spawn("bazel-out/x.o", False, {"HOME": "/tmp/b"}, "bb"),
            spawn("bazel-out/y.o", True),
            spawn("bazel-out/z.o", False, remotable=False),
        ],
    )
    report = execlog.explain(a, b)
    assert len(report) == 1, report  # y.o hit, z.o may not be cached remotely at all
    assert "bazel-out/x.o" in report[0]
    assert "env HOME: A '/home/a' / B '/tmp/b'" in report[0]
    assert "input x.c: A aa / B bb" in report[0]


def test_requirements_pin_every_package_by_hash():
    text = REQUIREMENTS.read_text()
    pins = re.findall(r"^([a-z0-9-]+)==\S+ \\\n\s+--hash=sha256:([0-9a-f]{64})", text, re.M)
    names = [n for n, _ in pins]
    assert "buildgrid" in names and "grpcio" in names
    assert len(pins) == len(re.findall(r"^[a-z0-9-]+==", text, re.M)), (
        "a requirement without a hash"
    )
    assert len(names) == len(set(names))


def test_upload_errors_carry_the_servers_reason():
    out = (
        "(15:03:49) WARNING: Remote Cache: Error while uploading artifact with digest 'ab/1'\n"
        "com.google...BulkTransferException\n\tat x\n"
        "\tCaused by: io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: Concurrent RPC limit exceeded!\n"
        "(15:05:00) INFO: 586 processes: 30 internal, 556 linux-sandbox.\n"
    )
    assert summary.upload_errors(out) == [
        "Remote Cache: Error while uploading artifact with digest 'ab/1' "
        "(io.grpc.StatusRuntimeException: RESOURCE_EXHAUSTED: Concurrent RPC limit exceeded!)"
    ]
    assert summary.upload_errors("INFO: 3 processes: 3 remote cache hit.") == []
