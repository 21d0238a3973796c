"""Run a command whose whole process tree dies with tools/bazel.

`kill -9` of the wrapper cannot be caught, and mmdebstrap forks apt, dpkg and
tar, which would go on writing into the half-made root as orphans and race the
next call. So the command runs under a small guardian process (this file run as
a script):

- the guardian is a child subreaper (PR_SET_CHILD_SUBREAPER), so every
  descendant that loses its parent becomes its child instead of init's;
- it gets SIGTERM when the wrapper dies (PR_SET_PDEATHSIG), and also stops on
  SIGINT/SIGTERM/SIGHUP;
- it starts the command in a process group of its own, with PR_SET_PDEATHSIG
  SIGKILL as a second line of defence;
- when stopped, or when the command exits, it kills the command's process group
  and every descendant left, reaps them, and only then exits.

The caller can hand it file descriptors to hold until then (the provisioning
lock), so the next call waits until the tree is really gone.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
# The guardian's exit code when it was stopped by a signal: 128 + the signal, as a shell says.
SIGNAL_BASE = 128


def _prctl(option: int, value: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(option, value, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), f"prctl({option})")


def run(cmd: list[str], keep_fds: tuple[int, ...] = ()) -> subprocess.CompletedProcess:
    """Run `cmd` tied to this process; stdout and stderr together in `.stdout`.

    The return code is the command's, or >= 128 when it was stopped by a signal.
    If this process is interrupted while waiting, the guardian is told to stop
    and waited for (it kills the tree first), then the interruption propagates.
    """
    guardian = subprocess.Popen(
        [sys.executable, "-B", os.path.abspath(__file__), str(os.getpid()), "--", *cmd],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        errors="replace",
        pass_fds=keep_fds,
    )
    try:
        out, _ = guardian.communicate()
    except BaseException:
        guardian.send_signal(signal.SIGTERM)
        guardian.wait()
        raise
    return subprocess.CompletedProcess(cmd, guardian.returncode, out, None)


class _Stop(Exception):
    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _children(parent: int) -> list[int]:
    """The pids whose parent is `parent` (from /proc)."""
    kids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            kids.append(int(entry))
    return kids


def _kill_tree(group: int | None) -> None:
    """Kill the command's group and every descendant, reaping until none is left."""
    if group is not None:
        try:
            os.killpg(group, signal.SIGKILL)
        except OSError:
            pass
    me = os.getpid()
    while True:
        for pid in _children(me):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        try:
            os.waitpid(-1, 0)  # grandchildren of a reaped child become ours: loop again
        except ChildProcessError:
            return


def _guard(parent: int, cmd: list[str]) -> int:
    _prctl(PR_SET_CHILD_SUBREAPER, 1)
    _prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

    def stop(signum, _frame):
        raise _Stop(signum)

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, stop)
    group = None
    try:
        if os.getppid() != parent:  # the wrapper died before PDEATHSIG was armed
            return SIGNAL_BASE + signal.SIGTERM
        try:
            child = subprocess.Popen(
                cmd,
                start_new_session=True,
                preexec_fn=lambda: _prctl(PR_SET_PDEATHSIG, signal.SIGKILL),
            )
        except OSError as err:
            print(f"cannot run {cmd[0]}: {err}", flush=True)
            return 127
        group = child.pid
        code = child.wait()
        return SIGNAL_BASE - code if code < 0 else code
    except _Stop as stopped:
        return SIGNAL_BASE + stopped.signum
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(signum, signal.SIG_IGN)  # finish the cleanup whatever arrives
        _kill_tree(group)


if __name__ == "__main__":
    sys.exit(_guard(int(sys.argv[1]), sys.argv[3:]))
