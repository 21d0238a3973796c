"""Runs the agent's own `mount_krunner` file look-ups, taken from its published source.

Usage: mount_probe.py AGENT_ROOT ARCH DISTRO SANDBOX (AGENT_ROOT holds ai/backend/agent/).
With an installed backend.ai-kernel-binary importable (PYTHONPATH; an empty
ai.backend.agent package beside it, as the agent is installed), it runs
`mount_krunner` from agent.py with `resolve_krunner_filepath` from docker/agent.py
and `match_distro_data` from kernel.py, compiled as they are (annotations dropped,
as tests/krunner/agent_code.py does), and prints the mounts it asks for as JSON
[[type, source, target], ...].

Replaced: `get_krunner_info` (its result for the image: tested by
tests/krunner:agent_lookup_test), `get_runner_mount` (records the mount), the
agent's config (the sandbox type: `jail` also looks up the jail binary) and the
device list (empty). `importlib.resources.files` is the real one.
"""

from __future__ import annotations

import ast
import asyncio
import enum
import json
import re
import sys
import types
from importlib.resources import files
from pathlib import Path

from agent_code import load


class MountTypes(enum.Enum):
    BIND = "bind"
    VOLUME = "volume"


class MountPermission(enum.Enum):
    READ_ONLY = "ro"


class UnsupportedBaseDistroError(RuntimeError):
    pass


class ContainerSandboxType(enum.Enum):
    DOCKER = "docker"
    JAIL = "jail"


def class_attribute(source: Path, name: str, namespace: dict) -> object:
    """The value of a class-level `name = <expr>` in `source` (the agent's _rx_distro)."""
    for cls in ast.parse(source.read_text()).body:
        if isinstance(cls, ast.ClassDef):
            for node in cls.body:
                if (
                    isinstance(node, ast.Assign)
                    and isinstance(node.targets[0], ast.Name)
                    and node.targets[0].id == name
                ):
                    return eval(compile(ast.Expression(node.value), str(source), "eval"), namespace)
    raise SystemExit(f"{source}: no class attribute {name}: has the agent's code moved?")


def main() -> None:
    root, arch, distro, sandbox = Path(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    agent = root / "ai/backend/agent"
    ns: dict = {
        "Path": Path,
        "files": files,
        "re": re,
        "MountTypes": MountTypes,
        "MountPermission": MountPermission,
        "ContainerSandboxType": ContainerSandboxType,
        "UnsupportedBaseDistroError": UnsupportedBaseDistroError,
    }
    load(agent / "kernel.py", ns, {"match_distro_data"})
    load(agent / "agent.py", ns, {"mount_krunner"}, methods=True)
    load(agent / "docker/agent.py", ns, {"resolve_krunner_filepath"}, methods=True)
    musl = distro.startswith("alpine")
    mounts: list[list[str]] = []
    this = types.SimpleNamespace(
        distro=distro,
        _rx_distro=class_attribute(agent / "agent.py", "_rx_distro", ns),
        local_config=types.SimpleNamespace(
            container=types.SimpleNamespace(sandbox_type=ContainerSandboxType(sandbox))
        ),
        computers={},
        get_krunner_info=lambda: (
            arch,
            "static-musl" if musl else "static-gnu",
            "musl" if musl else "glibc",
            f"backendai-krunner.v1.{arch}.static-{'musl' if musl else 'gnu'}",
            "3.13",
        ),
        get_runner_mount=lambda type, src, dst, perm: mounts.append(
            [type.value, str(src), str(dst)]
        ),
    )
    this.resolve_krunner_filepath = types.MethodType(ns["resolve_krunner_filepath"], this)
    spec = types.SimpleNamespace(mounts=[], device_list=[])
    asyncio.run(ns["mount_krunner"](this, spec, {}))
    print(json.dumps(mounts, indent=1))


if __name__ == "__main__":
    main()
