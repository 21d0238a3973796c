"""One checkout of the repository: clone it, build with a remote cache, measure, remove.

Each checkout is a `git clone` at its own path with its own output base, as a
second machine or CI job would have; only $KRUNNER_CACHE (the sid root, the
repository cache, the offline mirror) and the remote cache are shared.
"""

from __future__ import annotations

import hashlib
import os
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from remote_cache_check import summary


def cpu_seconds_of(pid: int) -> float:
    """CPU time (user + system, own and waited-for children) of a live process, from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the ")": state is fields[0], so utime..cstime (stat fields 14-17) are [11:15].
    return sum(int(v) for v in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class Checkout:
    """A clone at `path` built in `output_base`, with `env` for tools/bazel."""

    name: str
    path: Path
    output_base: Path
    env: dict[str, str]
    started: list[str] = field(default_factory=list)

    @property
    def bazel(self) -> list[str]:
        return [
            "nice",
            "-n",
            "10",
            str(self.path / "tools/bazel"),
            f"--output_base={self.output_base}",
        ]

    def clone(self, source: Path, rev: str) -> None:
        """Clone `source` at commit `rev` (committed state only, as CI sees it)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["git", "clone", "--quiet", "--no-checkout", str(source), str(self.path)], check=True
        )
        subprocess.run(
            ["git", "-C", str(self.path), "checkout", "--quiet", "--detach", rev], check=True
        )

    def run(self, args: list[str], echo: bool = False) -> tuple[int, str]:
        """Run tools/bazel in the clone; return (exit status, combined output)."""
        self.started = self.bazel
        proc = subprocess.Popen(
            self.bazel + args,
            cwd=self.path,
            env=self.env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if echo:
                sys.stderr.write(f"[{self.name}] {line}")
        return proc.wait(), "".join(lines)

    def build(self, target: str, flags: list[str], execlog: Path) -> "Result":
        """Build `target`, then hash its output files; measures wall and CPU seconds."""
        wall0, cpu0 = time.monotonic(), children_cpu_seconds()
        status, out = self.run(
            ["build", *flags, f"--execution_log_json_file={execlog}", target], echo=True
        )
        if status != 0:
            raise BuildFailed(
                f"{self.name}: `bazel build {target}` failed with status {status} "
                f"(output above, prefixed [{self.name}])"
            )
        server_cpu = self.server_cpu_seconds(flags)
        files = self.output_hashes(target, flags)
        return Result(
            summary=summary.parse(out),
            files=files,
            upload_errors=summary.upload_errors(out),
            wall_s=time.monotonic() - wall0,
            cpu_s=children_cpu_seconds() - cpu0 + server_cpu,
        )

    def server_cpu_seconds(self, flags: list[str]) -> float:
        """The Bazel server's CPU time so far (the server is a daemon, not our child)."""
        status, out = self.run(["info", *flags, "server_pid"])
        pids = [line for line in out.split() if line.isdigit()] if status == 0 else []
        return cpu_seconds_of(int(pids[-1])) if pids else 0.0

    def output_hashes(self, target: str, flags: list[str]) -> dict[str, str]:
        """{path under bazel-bin: sha256} of the files `target` builds."""
        status, out = self.run(["cquery", *flags, "--output=files", target])
        if status != 0:
            raise BuildFailed(f"{self.name}: cquery --output=files failed:\n{out[-2000:]}")
        status, root = self.run(["info", *flags, "execution_root"])
        roots = [line for line in root.splitlines() if line.startswith("/")]
        if status != 0 or not roots:
            raise BuildFailed(f"{self.name}: bazel info execution_root failed:\n{root[-2000:]}")
        execroot = Path(roots[-1])
        hashes = {}
        for rel in out.split():
            if "/bin/" not in rel:
                continue  # Bazel's INFO lines, not file paths
            data = (execroot / rel).read_bytes()
            hashes[rel.split("/bin/", 1)[1]] = hashlib.sha256(data).hexdigest()
        return hashes

    def remove(self) -> None:
        """Stop this checkout's Bazel server and delete its output base and clone."""
        if self.output_base.exists() and (self.path / "tools/bazel").exists():
            subprocess.run(
                self.bazel + ["shutdown"],
                cwd=self.path,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                check=False,
            )
        for tree in (self.output_base, self.path):
            if tree.exists():
                # Bazel makes its output trees read-only.
                subprocess.run(["chmod", "-R", "u+w", str(tree)], check=False)
                shutil.rmtree(tree, ignore_errors=True)


@dataclass
class Result:
    summary: summary.Summary
    files: dict[str, str]
    upload_errors: list[str]
    wall_s: float
    cpu_s: float


class BuildFailed(Exception):
    """A checkout's build (or a query after it) failed."""
