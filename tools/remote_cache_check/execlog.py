"""Read Bazel's --execution_log_json_file and explain remote cache misses.

The log is a stream of JSON SpawnExec objects (not one array). A spawn that was
remotable and cacheable but not a remote cache hit in checkout B is a miss; the
same spawn in checkout A (matched by its first listed output) tells why: an
input whose digest differs, an argument or an environment variable that names
the checkout's path or HOME, or a different platform.
"""

from __future__ import annotations

import json
from pathlib import Path


def spawns(path: Path) -> list[dict]:
    """Every SpawnExec in the log at `path`."""
    text = path.read_text()
    decoder = json.JSONDecoder()
    out, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            return out
        obj, pos = decoder.raw_decode(text, pos)
        out.append(obj)


def key(spawn: dict) -> str:
    """What identifies a spawn across checkouts: its outputs (paths are execroot-relative)."""
    outs = [
        o.get("path", "") if isinstance(o, dict) else str(o) for o in spawn.get("listedOutputs", [])
    ]
    return " ".join(sorted(outs)) or f"{spawn.get('mnemonic')} {spawn.get('targetLabel')}"


def is_hit(spawn: dict) -> bool:
    """Whether Bazel took the spawn's result from a cache (SpawnExec.cache_hit; the
    runner says "remote cache hit" as well)."""
    return bool(spawn.get("cacheHit")) or spawn.get("runner") == "remote cache hit"


def misses(log: list[dict]) -> list[dict]:
    """Spawns that a remote cache could have served but did not."""
    return [s for s in log if s.get("remotable") and s.get("cacheable", True) and not is_hit(s)]


def _inputs(spawn: dict) -> dict[str, str]:
    return {
        i["path"]: i.get("digest", {}).get("hash", "dir" if i.get("isDirectory") else "")
        for i in spawn.get("inputs", [])
    }


def _env(spawn: dict) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in spawn.get("environmentVariables", [])}


def differences(a: dict, b: dict, limit: int = 8) -> list[str]:
    """Human-readable reasons why spawn `b` did not hit what spawn `a` stored."""
    out = []
    if a.get("commandArgs") != b.get("commandArgs"):
        # Different lengths are expected: the common prefix is compared here.
        args_a, args_b = a.get("commandArgs", []), b.get("commandArgs", [])
        for i, (x, y) in enumerate(zip(args_a, args_b, strict=False)):
            if x != y:
                out.append(f"argument {i}: A {x!r} / B {y!r}")
        if len(a.get("commandArgs", [])) != len(b.get("commandArgs", [])):
            out.append("the argument lists differ in length")
    env_a, env_b = _env(a), _env(b)
    for name in sorted(env_a.keys() | env_b.keys()):
        if env_a.get(name) != env_b.get(name):
            out.append(f"env {name}: A {env_a.get(name)!r} / B {env_b.get(name)!r}")
    in_a, in_b = _inputs(a), _inputs(b)
    for path in sorted(in_a.keys() | in_b.keys()):
        if in_a.get(path) != in_b.get(path):
            out.append(
                f"input {path}: A {in_a.get(path) or 'absent'} / B {in_b.get(path) or 'absent'}"
            )
    if a.get("platform") != b.get("platform"):
        out.append(f"platform: A {a.get('platform')} / B {b.get('platform')}")
    if not out:
        out.append(
            "same arguments, environment and inputs in both logs: A's upload of this "
            "result failed (see A's 'Remote Cache' warnings) or the server lost it (its log)"
        )
    return out[:limit] + ([f"... and {len(out) - limit} more"] if len(out) > limit else [])


def explain(log_a: Path, log_b: Path) -> list[str]:
    """One paragraph per missed spawn of B: what it is and how it differs from A's."""
    by_key = {key(s): s for s in spawns(log_a)}
    report = []
    for spawn in misses(spawns(log_b)):
        head = f"{spawn.get('mnemonic')} for {spawn.get('targetLabel')} ({key(spawn)[:160]})"
        twin = by_key.get(key(spawn))
        if twin is None:
            report.append(f"{head}\n    not run by A at all (a different action graph)")
        else:
            report.append(head + "".join(f"\n    {d}" for d in differences(twin, spawn)))
    return report
