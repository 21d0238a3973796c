"""Provisioning the sid root with a fake mmdebstrap: killed calls, and honest errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bazel_wrapper import sid_root

# A stand-in for mmdebstrap, steered by FAKE_STATE/mode: it records how it was
# called, then hangs with a worker child writing into the root (as apt does),
# succeeds with a dpkg status holding the pins, or fails as mmdebstrap does.
FAKE_MMDEBSTRAP = textwrap.dedent("""\
    #!{python}
    import json, os, signal, subprocess, sys, time
    args = sys.argv[1:]
    out = args[-2]
    state = os.environ["FAKE_STATE"]
    mode = open(os.path.join(state, "mode")).read().strip()
    with open(os.path.join(state, "calls.json"), "a") as f:
        f.write(json.dumps({{"argv": args, "tmpdir": os.environ.get("TMPDIR")}}) + "\\n")
    if mode == "hang":
        os.makedirs(out, exist_ok=True)
        worker = subprocess.Popen(["sh", "-c", 'while true; do date > "$0/worker-output"; sleep 0.05; done', out])
        with open(os.path.join(state, "pids"), "w") as f:
            f.write(f"{{os.getpid()}} {{worker.pid}}\\n")
        time.sleep(600)
    elif mode == "ok":
        include = next(a for a in args if a.startswith("--include=")).split("=", 1)[1]
        os.makedirs(os.path.join(out, "var/lib/dpkg"))
        with open(os.path.join(out, "var/lib/dpkg/status"), "w") as f:
            for item in include.split(","):
                name, _, version = item.partition("=")
                f.write(f"Package: {{name}}\\nStatus: install ok installed\\n"
                        f"Version: {{version or '1.0'}}\\nArchitecture: amd64\\n\\n")
    elif mode == "nospace":
        print("I: extracting archives...")
        print("tar: ./usr/lib/jvm/java-25/lib/modules: Cannot write: No space left on device")
        sys.exit(1)
    elif mode == "missing":
        print("E: Version '7.7.1+ds-8+b1' for 'bazel-bootstrap' was not found")
        sys.exit(100)
    elif mode == "network":
        print("E: Failed to fetch http://mirror.invalid/debian/dists/sid/InRelease  "
              "Could not resolve 'mirror.invalid'")
        sys.exit(1)
    elif mode == "interrupt":
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    """)

# Provisions as tools/bazel does; the CA step is replaced, as the fake root has
# no update-ca-certificates to run.
DRIVER = textwrap.dedent("""\
    import sys
    from pathlib import Path
    from bazel_wrapper import ca_trust, sid_root
    from bazel_wrapper.errors import WrapperError

    def fake_refresh(root, run_in_root, source=ca_trust.HOST_CAS):
        (root / ca_trust.STAMP).write_text(ca_trust.host_digest(source) + "\\n")

    ca_trust.refresh = fake_refresh
    try:
        print(sid_root.ensure_root(sid_root.load_spec(), Path(sys.argv[1])))
    except WrapperError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    """)


@pytest.fixture
def fake(tmp_path):
    """PATH with the fake mmdebstrap, its state directory, and a private cache."""
    bin_dir, state, cache = tmp_path / "bin", tmp_path / "state", tmp_path / "cache"
    for d in (bin_dir, state, cache):
        d.mkdir(mode=0o755)
    exe = bin_dir / "mmdebstrap"
    exe.write_text(FAKE_MMDEBSTRAP.format(python=sys.executable))
    exe.chmod(0o755)
    tmp = tmp_path / "systmp"
    tmp.mkdir()
    env = {"PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}", "FAKE_STATE": str(state),
           "PYTHONPATH": os.pathsep.join(sys.path), "TMPDIR": str(tmp), "HOME": str(tmp_path),
           "KRUNNER_DEBIAN_MIRROR": "http://mirror.invalid/debian"}
    return {"env": env, "state": state, "cache": cache, "systmp": tmp}


def provision(fake, mode: str, **kwargs):
    (fake["state"] / "mode").write_text(mode)
    return subprocess.Popen([sys.executable, "-c", DRIVER, str(fake["cache"])], env=fake["env"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kwargs)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_killed_first_call_takes_mmdebstrap_along_and_the_next_call_works(fake):
    first = provision(fake, "hang")
    pids_file = fake["state"] / "pids"
    deadline = time.time() + 30
    while not pids_file.exists() and time.time() < deadline:
        time.sleep(0.05)
    assert pids_file.exists(), first.stderr.read() if first.poll() is not None else "fake never started"
    pids = [int(p) for p in pids_file.read_text().split()]
    first.kill()  # kill -9: nothing in the wrapper can catch it
    first.wait()
    deadline = time.time() + 10
    while any(alive(p) for p in pids) and time.time() < deadline:
        time.sleep(0.05)
    survivors = [p for p in pids if alive(p)]
    for pid in survivors:  # do not leave them running when the assertion fails
        os.kill(pid, signal.SIGKILL)
    assert not survivors, "mmdebstrap or its worker outlived the killed wrapper"

    second = provision(fake, "ok")
    out, err = second.communicate(timeout=60)
    assert second.returncode == 0, err
    root = Path(out.strip())
    assert (root / sid_root.READY_MARKER).exists() and not (root / "worker-output").exists()
    partial, scratch = sid_root.work_dirs(root)
    assert not partial.exists() and not scratch.exists()
    assert list(fake["systmp"].iterdir()) == []  # nothing was ever put in /tmp
    calls = [json.loads(l) for l in (fake["state"] / "calls.json").read_text().splitlines()]
    assert all(c["tmpdir"] == str(scratch) for c in calls)


def test_a_full_disk_is_reported_as_such_with_the_space_needed(fake):
    proc = provision(fake, "nospace")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "no space left on the disk" in err and "GB free" in err and "KRUNNER_CACHE" in err
    assert "bump" not in err.lower() and "still in sid" not in err


def test_a_pinned_version_gone_from_sid_is_named_with_the_bump_hint(fake):
    proc = provision(fake, "missing")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "no longer has bazel-bootstrap=7.7.1+ds-8+b1" in err and "sid_root.json" in err


def test_an_unreachable_mirror_is_blamed_on_the_network(fake):
    proc = provision(fake, "network")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "could not be reached" in err and "mirror.invalid" in err
    assert "still in sid" not in err


def test_an_interrupted_mmdebstrap_is_reported_as_interrupted(fake):
    proc = provision(fake, "interrupt")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "interrupted (signal 2)" in err
    assert "still in sid" not in err


def test_the_index_age_is_checked_with_a_bounded_grace(fake):
    proc = provision(fake, "ok")
    proc.communicate(timeout=60)
    argv = json.loads((fake["state"] / "calls.json").read_text().splitlines()[0])["argv"]
    aptopts = [a for a in argv if a.startswith("--aptopt=")]
    assert '--aptopt=Acquire::Check-Valid-Until "true"' in aptopts
    assert f'--aptopt=Acquire::Min-ValidTime "{90 * 86400}"' in aptopts
    assert not [a for a in argv if '"false"' in a]


def test_umask_002_a_fresh_cache_provisions_and_the_second_call_accepts_the_root(fake):
    """Issue 18, finding 3: the marker (0664) and the made directories (0775) were refused."""
    (fake["state"] / "mode").write_text("ok")
    fresh = fake["cache"] / "fresh" / "cache"  # nothing of it exists yet
    for call in ("first", "second"):
        proc = subprocess.run([sys.executable, "-c", DRIVER, str(fresh)], env=fake["env"],
                              capture_output=True, text=True, timeout=120,
                              preexec_fn=lambda: os.umask(0o002))
        assert proc.returncode == 0, f"{call} call: {proc.stderr}"
    root = Path(proc.stdout.strip())
    assert (root / sid_root.READY_MARKER).stat().st_mode & 0o777 == 0o644
    for path in (fake["cache"] / "fresh", fresh, fresh / "roots", root):
        assert path.stat().st_mode & 0o022 == 0, path
    calls = (fake["state"] / "calls.json").read_text().splitlines()
    assert len(calls) == 1  # provisioned once, accepted the second time
