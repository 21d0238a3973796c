"""Provisioning the sid root from its lock: pinned files only, no index, honest errors.

mmdebstrap is a stand-in that installs what the local repository it is handed
holds (it writes dpkg's status from that repository's Packages, checking each
file's hash); the .deb files, the lock and the loopback mirror are real (debs.py).
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import debs
import pytest
from bazel_wrapper import manifest, sid_lock, sid_root
from bazel_wrapper.errors import WrapperError

# A stand-in for mmdebstrap, steered by FAKE_STATE/mode: it records how it was
# called, then hangs with a worker child writing into the root (as apt does),
# installs every package of the repository it was given (its last argument, a
# `deb [trusted=yes] copy://DIR ./` line), or fails as mmdebstrap does.
FAKE_MMDEBSTRAP = textwrap.dedent("""\
    #!{python}
    import hashlib, json, os, signal, subprocess, sys, time
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
    elif mode in ("ok", "extra"):
        repo = args[-1].split("copy://", 1)[1].split()[0]
        stanzas = [s for s in open(os.path.join(repo, "Packages")).read().split("\\n\\n") if s.strip()]
        os.makedirs(os.path.join(out, "var/lib/dpkg"))
        os.makedirs(os.path.join(out, "etc/apt"))
        with open(os.path.join(out, "var/lib/dpkg/status"), "w") as f:
            for stanza in stanzas:
                fields = dict(l.split(": ", 1) for l in stanza.splitlines() if ": " in l)
                data = open(os.path.join(repo, fields["Filename"]), "rb").read()
                assert hashlib.sha256(data).hexdigest() == fields["SHA256"]
                f.write(f"Package: {{fields['Package']}}\\nStatus: install ok installed\\n"
                        f"Version: {{fields['Version']}}\\nArchitecture: {{fields['Architecture']}}\\n\\n")
            if mode == "extra":
                f.write("Package: surprise\\nStatus: install ok installed\\nVersion: 1\\n"
                        "Architecture: all\\n\\n")
    elif mode == "nospace":
        print("I: extracting archives...")
        print("tar: ./usr/lib/jvm/java-25/lib/modules: Cannot write: No space left on device")
        sys.exit(1)
    elif mode == "broken":
        print("E: Unable to correct problems, you have held broken packages.")
        sys.exit(100)
    elif mode == "interrupt":
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(5)
    """)

# Provisions as tools/bazel does, from the spec and lock named on its command
# line; the CA step is replaced, as the fake root has no update-ca-certificates.
DRIVER = textwrap.dedent("""\
    import sys
    from pathlib import Path
    from bazel_wrapper import ca_trust, sid_lock, sid_root
    from bazel_wrapper.errors import WrapperError

    def fake_refresh(root, run_in_root, source=ca_trust.HOST_CAS):
        (root / ca_trust.STAMP).write_text(ca_trust.host_digest(source) + "\\n")

    ca_trust.refresh = fake_refresh
    try:
        spec, lock = sid_root.load_spec(Path(sys.argv[2])), sid_lock.load(Path(sys.argv[3]))
        print(sid_root.ensure_root(spec, Path(sys.argv[1]), lock))
    except WrapperError as err:
        print(err, file=sys.stderr)
        sys.exit(2)
    """)


@pytest.fixture
def fake(tmp_path):
    """PATH with the fake mmdebstrap, its state directory, a private cache, and pinned debs.

    No mirror answers (port 9 on loopback) unless a test serves one; the debs
    come from KRUNNER_SID_DEBS (the pool tree) unless a test unsets it.
    """
    bin_dir, state, cache = tmp_path / "bin", tmp_path / "state", tmp_path / "cache"
    for d in (bin_dir, state, cache):
        d.mkdir(mode=0o755)
    exe = bin_dir / "mmdebstrap"
    exe.write_text(FAKE_MMDEBSTRAP.format(python=sys.executable))
    exe.chmod(0o755)
    tmp = tmp_path / "systmp"
    tmp.mkdir()
    pinned = debs.make_set(tmp_path)
    env = {
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "FAKE_STATE": str(state),
        "PYTHONPATH": os.pathsep.join(sys.path),
        "TMPDIR": str(tmp),
        "HOME": str(tmp_path),
        "KRUNNER_DEBIAN_MIRROR": "http://127.0.0.1:9/debian",
        sid_lock.DEBS_ENV: str(pinned["mirror"]),
    }
    return {"env": env, "state": state, "cache": cache, "systmp": tmp, **pinned}


def provision(fake, mode: str, **kwargs):
    (fake["state"] / "mode").write_text(mode)
    return subprocess.Popen(
        [sys.executable, "-c", DRIVER, str(fake["cache"]), str(fake["spec"]), str(fake["lock"])],
        env=fake["env"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def lock_manifest_digest(fake) -> str:
    return hashlib.sha256(
        manifest.render(
            {e["package"]: (e["version"], e["architecture"]) for e in fake["entries"]}
        ).encode()
    ).hexdigest()


def no_root_left(fake) -> bool:
    roots = fake["cache"] / "roots"
    return not roots.exists() or not [p for p in roots.iterdir() if not p.name.endswith(".lock")]


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
    assert pids_file.exists(), (
        first.stderr.read() if first.poll() is not None else "fake never started"
    )
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
    calls = [json.loads(line) for line in (fake["state"] / "calls.json").read_text().splitlines()]
    assert all(c["tmpdir"] == str(scratch) for c in calls)


def test_a_full_disk_is_reported_as_such_with_the_space_needed(fake):
    proc = provision(fake, "nospace")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "no space left on the disk" in err and "GB free" in err and "KRUNNER_CACHE" in err
    assert "bump" not in err.lower() and "still in sid" not in err


def test_a_lock_that_apt_cannot_install_names_the_lock_tool(fake):
    proc = provision(fake, "broken")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert "sid_root.lock.json" in err and "tools/lock_sid_root" in err


def test_an_interrupted_mmdebstrap_is_reported_as_interrupted(fake):
    proc = provision(fake, "interrupt")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "interrupted (signal 2)" in err
    assert "still in sid" not in err


def test_provisions_from_a_directory_of_debs_with_no_index_and_no_mirror(fake):
    del fake["env"]["KRUNNER_DEBIAN_MIRROR"]  # and the test sandbox has no apt sources
    proc = provision(fake, "ok")
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    root = Path(out.strip())
    installed = manifest.installed(root)
    assert installed == {e["package"]: (e["version"], e["architecture"]) for e in fake["entries"]}
    # The identity is a function of the lock: the manifest is the lock's package list.
    assert manifest.digest(root)[0] == lock_manifest_digest(fake)
    assert "sid_root.lock.json" in (root / "etc/apt/sources.list").read_text()
    argv = json.loads((fake["state"] / "calls.json").read_text().splitlines()[0])["argv"]
    assert argv[-1].startswith("deb [trusted=yes] copy://") and "127.0.0.1" not in " ".join(argv)
    assert not [a for a in argv if a.startswith("--aptopt")]  # no index, so no Valid-Until to relax


def test_a_tampered_deb_is_refused_and_not_kept(fake):
    entry = fake["entries"][1]
    path = fake["mirror"] / entry["filename"]
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    proc = provision(fake, "ok")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    error = err.strip().splitlines()[-1]  # after the progress lines, one line says it all
    assert f"{entry['package']} {entry['version']}" in error and "tampered" in error
    assert entry["sha256"] in error and "Traceback" not in err
    assert no_root_left(fake)
    assert not (fake["cache"] / "debs" / path.name).exists()
    assert not (fake["state"] / "calls.json").exists()  # mmdebstrap never ran


def test_an_index_a_year_old_is_accepted_because_nothing_in_it_is_read(fake):
    dists = fake["mirror"] / "dists/sid"
    dists.mkdir(parents=True)
    (dists / "InRelease").write_text(
        "Origin: Debian\nSuite: unstable\n"
        "Date: Sat, 06 Dec 2025 08:00:00 UTC\n"
        "Valid-Until: Sat, 13 Dec 2025 08:00:00 UTC\n"
    )
    del fake["env"][sid_lock.DEBS_ENV]
    with debs.serve(fake["mirror"]) as (url, requests):
        fake["env"]["KRUNNER_DEBIAN_MIRROR"] = url
        proc = provision(fake, "ok")
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert sorted(path for path, _ in requests) == sorted(
        "/" + e["filename"] for e in fake["entries"]
    )
    assert manifest.digest(Path(out.strip()))[0] == lock_manifest_digest(fake)


def test_a_pin_gone_from_the_mirror_is_named_with_the_ways_out(fake):
    gone = fake["entries"][2]
    (fake["mirror"] / gone["filename"]).unlink()
    del fake["env"][sid_lock.DEBS_ENV]
    with debs.serve(fake["mirror"]) as (url, requests):
        secret_url = url.replace("http://", "http://builder:S3CRET-TOKEN@")
        fake["env"]["KRUNNER_DEBIAN_MIRROR"] = secret_url
        proc = provision(fake, "ok")
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2
    assert f"{gone['package']} {gone['version']}" in err and gone["filename"] in err
    for way_out in ("KRUNNER_DEBIAN_MIRROR", "snapshot", sid_lock.DEBS_ENV, "tools/lock_sid_root"):
        assert way_out in err
    assert "S3CRET" not in err and "***@127.0.0.1" in err
    assert requests and all(auth and auth.startswith("Basic ") for _, auth in requests)
    assert no_root_left(fake)


def test_a_root_that_does_not_match_the_lock_is_refused(fake):
    proc = provision(fake, "extra")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "surprise" in err and "tools/lock_sid_root" in err
    assert no_root_left(fake)


def test_a_lock_made_for_another_spec_is_refused(fake, tmp_path):
    spec = sid_root.load_spec(fake["spec"])
    bumped = sid_root.RootSpec(
        spec.suite, spec.variant, {"bazel-bootstrap": "7.7.2"}, spec.unpinned
    )
    with pytest.raises(
        WrapperError, match="changed since sid_root.lock.json was made: run tools/lock_sid_root"
    ):
        sid_root.ensure_root(bumped, tmp_path / "cache2", sid_lock.load(fake["lock"]))


def test_umask_002_a_fresh_cache_provisions_and_the_second_call_accepts_the_root(fake):
    """Issue 18, finding 3: the marker (0664) and the made directories (0775) were refused."""
    (fake["state"] / "mode").write_text("ok")
    fresh = fake["cache"] / "fresh" / "cache"  # nothing of it exists yet
    for call in ("first", "second"):
        proc = subprocess.run(
            [sys.executable, "-c", DRIVER, str(fresh), str(fake["spec"]), str(fake["lock"])],
            env=fake["env"],
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=lambda: os.umask(0o002),
        )
        assert proc.returncode == 0, f"{call} call: {proc.stderr}"
    root = Path(proc.stdout.strip())
    assert (root / sid_root.READY_MARKER).stat().st_mode & 0o777 == 0o644
    for path in (fake["cache"] / "fresh", fresh, fresh / "roots", root):
        assert path.stat().st_mode & 0o022 == 0, path
    calls = (fake["state"] / "calls.json").read_text().splitlines()
    assert len(calls) == 1  # provisioned once, accepted the second time
