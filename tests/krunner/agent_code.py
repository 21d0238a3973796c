"""Runs the agent's own krunner look-ups, taken from its published source.

Usage: agent_code.py AGENT_ROOT ARCH DISTRO... (AGENT_ROOT holds ai/backend/agent/).
With the krunner wheels importable (PYTHONPATH), it runs the agent's
`prepare_krunner_env` (with its `prepare_krunner_env_impl`) from docker/kernel.py,
then, for each image base-distro label DISTRO, `get_krunner_info` from agent.py
(which calls `match_distro_data` from kernel.py), and prints JSON.

The functions are compiled from the agent's source as they are, with annotations
dropped (23.9 evaluates them at definition) and get_krunner_info's `@cached`
(cachetools' memo, keyed on the image) left off. Only what lies outside the krunner
wheels is replaced: Docker (a fake daemon that has the extractor image and no
volume yet, and records the `docker run` of the extractor, so the extractor's
script, from backend.ai-kernel-binary, is an empty file here), the logger,
`get_arch_name` (the arch under test, so the aarch64 wheels are read on any host),
aiotools' TaskGroup (asyncio's) and backend.ai-plugin's `scan_entrypoints` (the
entry points of the group, from importlib.metadata). `importlib.resources.files`
and `pkg_resources` are the real ones, so a package the agent cannot import fails
as it fails in the agent.
"""

from __future__ import annotations

import ast
import asyncio
import importlib.metadata
import json
import lzma
import re
import sys
import tempfile
import traceback
import types
from importlib.resources import files
from pathlib import Path


def functions(source: Path, wanted: set[str], methods: bool = False) -> list[ast.AST]:
    """The top-level functions (or methods of any class) named in `wanted`, annotations dropped."""
    tree = ast.parse(source.read_text(), str(source))
    body = tree.body
    if methods:
        body = [m for n in tree.body if isinstance(n, ast.ClassDef) for m in n.body]
    found = [
        n
        for n in body
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in wanted
    ]
    missing = wanted - {n.name for n in found}
    if missing:
        raise SystemExit(f"{source}: no function {sorted(missing)}: has the agent's code moved?")
    for fn in found:
        fn.decorator_list = []  # get_krunner_info's cachetools @cached: a cache, nothing else
        for node in ast.walk(fn):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                node.returns = None
                for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs:
                    a.annotation = None
                for a in (node.args.vararg, node.args.kwarg):
                    if a is not None:
                        a.annotation = None
    return found


def module_constants(source: Path) -> dict[str, object]:
    """Top-level `NAME = <literal>` assignments (e.g. the extractor's pids limit)."""
    out = {}
    for node in ast.parse(source.read_text()).body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        if value is None:
            continue
        try:
            literal = ast.literal_eval(value)
        except ValueError:
            continue
        out.update({t.id: literal for t in targets if isinstance(t, ast.Name)})
    return out


def load(source: Path, namespace: dict, wanted: set[str], methods: bool = False) -> None:
    namespace.update({k: v for k, v in module_constants(source).items() if k not in namespace})
    mod = ast.Module(body=functions(source, wanted, methods), type_ignores=[])
    exec(compile(mod, str(source), "exec"), namespace)


class DockerError(Exception):
    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


class FakeDocker:
    """A daemon that has the extractor image loaded and none of the volumes yet."""

    created: list[str] = []

    def __init__(self):
        self.images = types.SimpleNamespace(list=self._images)
        self.volumes = types.SimpleNamespace(create=self._create)

    async def _images(self):
        return [{"RepoTags": ["backendai-krunner-extractor:latest"]}]

    async def _create(self, spec):
        FakeDocker.created.append(spec["Name"])

    async def close(self):
        pass


class FakeVolume:
    def __init__(self, docker, name):
        self.name = name

    async def show(self):
        raise DockerError(404)


class Recorder:
    """asyncio with create_subprocess_exec recording the `docker run` the agent starts."""

    runs: list[list[str]] = []

    def __getattr__(self, name):
        return getattr(asyncio, name)

    async def create_subprocess_exec(self, *argv, **kwargs):
        Recorder.runs.append(list(argv))

        class Proc:
            returncode = 0

            async def wait(self):
                return 0

            async def communicate(self, input=None):
                return b"", b""

        return Proc()


class Log:
    def __getattr__(self, level):
        def emit(msg, *args, **kw):
            print(f"agent {level}: " + msg.format(*args), file=sys.stderr)
            if level == "exception":
                traceback.print_exc()

        return emit


class UnsupportedBaseDistroError(RuntimeError):
    pass


class Config(dict):
    """The agent's local config, readable as 23.9 (dict keys) and 26.x (attributes) read it."""

    def __getattr__(self, name):
        return self[name]


def scan_entrypoints(group):
    return importlib.metadata.entry_points(group=group)


def main() -> None:
    root, arch, distros = Path(sys.argv[1]), sys.argv[2], sys.argv[3:]
    agent = root / "ai/backend/agent"
    ns: dict = {
        "asyncio": Recorder(),
        "Docker": FakeDocker,
        "DockerVolume": FakeVolume,
        "DockerError": DockerError,
        "TaskGroup": asyncio.TaskGroup,
        "scan_entrypoints": scan_entrypoints,
        "get_arch_name": lambda: arch,
        "UnsupportedBaseDistroError": UnsupportedBaseDistroError,
        "log": Log(),
        "Path": Path,
        "files": files,
        "lzma": lzma,
        "re": re,
        "str": str,
        "int": int,
    }
    if "import pkg_resources" in (agent / "agent.py").read_text():
        import pkg_resources  # the real one, as the 23.9 agent imports it

        ns["pkg_resources"] = pkg_resources
    load(agent / "docker/kernel.py", ns, {"prepare_krunner_env", "prepare_krunner_env_impl"})
    load(agent / "kernel.py", ns, {"match_distro_data"})
    load(agent / "agent.py", ns, {"get_krunner_info"}, methods=True)

    # The agent passes the path of backend.ai-kernel-binary's krunner-extractor.sh to
    # `docker run`; the fake daemon runs nothing, so only the path has to resolve.
    runner = Path(tempfile.mkdtemp()) / "ai/backend/runner"
    runner.mkdir(parents=True)
    (runner / "__init__.py").write_text("")
    (runner / "krunner-extractor.sh").write_text("")
    sys.path.append(str(runner.parent.parent.parent))
    volumes = asyncio.run(ns["prepare_krunner_env"]({}))
    runs = [
        {
            "archive": run[run.index("-v") + 1].split(":")[0],
            "env": [run[i + 1] for i, a in enumerate(run) if a == "-e"],
        }
        for run in Recorder.runs
    ]
    out = {"volumes": dict(volumes), "created": FakeDocker.created, "extractions": runs, "info": {}}
    container = Config({"krunner-volumes": dict(volumes), "krunner_volumes": dict(volumes)})
    for distro in distros:
        this = types.SimpleNamespace(
            distro=distro,  # 26.x
            kernel_config={"image": {"labels": {"ai.backend.base-distro": distro}}},  # 23.9
            local_config=Config({"container": container}),
        )
        try:
            info = ns["get_krunner_info"](this)
        except Exception as err:  # what the agent would raise at kernel start
            out["info"][distro] = {"error": f"{type(err).__name__}: {err}"}
            continue
        a, matched, libc, volume, pyver = info
        out["info"][distro] = {
            "arch": a,
            "distro": matched,
            "libc": libc,
            "volume": volume,
            "python": pyver,
        }
    print(json.dumps(out, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
