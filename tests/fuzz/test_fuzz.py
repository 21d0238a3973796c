"""Property-based fuzzing of the code that reads untrusted archives (issue 18).

Generated archives go through the wheel installer, the volume writer's tree
reader, the mirror's tree hash and `krunner inspect`. Each may refuse an input
only with its own error type (a one-line message, never a traceback), and what
it accepts must be sound, checked against an independent oracle:

- install_wheels: nothing is written outside the output directory;
- build_volume: every link it accepts stays inside the root when the real
  kernel resolves it on disk (os.path.realpath);
- treehash: the hash lines equal those of the tree Python's tarfile really
  extracts (so a crafted archive cannot show the hash other files than it leaves);
- krunner inspect/compare: any wheel is read, or refused with KrunnerError.

Hypothesis runs derandomized with no example database, so each run tries the
same cases; the number of cases per property is printed at the end.
"""

from __future__ import annotations

import hashlib
import io
import json
import lzma
import os
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RUNFILES = Path(os.environ["TEST_SRCDIR"]) / os.environ["TEST_WORKSPACE"]
sys.path[:0] = [str(RUNFILES / "krunner/private"), str(RUNFILES / "tools")]

import build_volume  # noqa: E402
import install_wheels  # noqa: E402
from krunner_cli import cli, reader  # noqa: E402
from mirror.treehash import TreeError, tree_lines  # noqa: E402

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    max_examples=250,
    suppress_health_check=list(HealthCheck),
)
COUNTS: dict[str, int] = {}
OUTCOMES: dict[str, dict[str, int]] = {}


def count(prop: str, outcome: str) -> None:
    COUNTS[prop] = COUNTS.get(prop, 0) + 1
    OUTCOMES.setdefault(prop, {})
    OUTCOMES[prop][outcome] = OUTCOMES[prop].get(outcome, 0) + 1


# Generated wheels name one member twice on purpose; zipfile warns each time.
pytestmark = pytest.mark.filterwarnings("ignore:Duplicate name")


@pytest.fixture(scope="module", autouse=True)
def report(request):
    """Print how many cases each property ran, and how they ended, into the test log."""
    yield
    line = json.dumps({"cases": COUNTS, "outcomes": OUTCOMES}, sort_keys=True)
    request.config.pluginmanager.get_plugin("terminalreporter").write_line(
        f"fuzz cases run: {line}"
    )


def one_line(err: Exception) -> None:
    assert "\n" not in str(err).strip() and str(err).strip(), repr(err)


# Path pieces that reach the interesting corners: traversal, absolute paths,
# `.` and empty components, the .data and .dist-info directories, links.
# Half the pieces are plain, so that accepted inputs are common too.
SEGMENT = st.one_of(
    st.sampled_from(["a", "b", "pkg", "x.py", "bin"]),
    st.sampled_from(
        [
            "..",
            ".",
            "",
            "t-1.0.data",
            "t-1.0.dist-info",
            "purelib",
            "scripts",
            "data",
            "headers",
            "test",
            "é",
        ]
    ),
)
PATH = st.lists(SEGMENT, min_size=1, max_size=5).map("/".join).filter(bool)  # zipfile refuses ""
NAME = st.one_of(PATH, st.sampled_from(["/abs", "/etc/passwd", "a/../../x", "./a", "a//b"]))


# --- install_wheels -------------------------------------------------------------

ENTRY = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["tool", "../esc", "a/b", ".", "..", " x", "ok-1"]), PATH),
        st.sampled_from(["m:main", "m.n:f.g", "os; x:y", "m", ":f", "m:f [extra]", "1m:f"]),
    ),
    max_size=3,
)


@FUZZ
@given(
    members=st.lists(st.tuples(NAME, st.binary(max_size=16)), max_size=8),
    entries=ENTRY,
    raw_ep=st.one_of(st.none(), st.text(max_size=40)),
)
def test_install_wheels_never_writes_outside_its_directory(members, entries, raw_ep):
    with tempfile.TemporaryDirectory() as tmp:
        case = Path(tmp)
        whl, out = case / "t-1.0-py3-none-any.whl", case / "out"
        out.mkdir()
        with zipfile.ZipFile(whl, "w") as zf:
            for name, data in members:
                zf.writestr(name, data)
            ep = (
                raw_ep
                if raw_ep is not None
                else ("[console_scripts]\n" + "".join(f"{n} = {t}\n" for n, t in entries))
            )
            zf.writestr("t-1.0.dist-info/entry_points.txt", ep)
            zf.writestr("t-1.0.dist-info/METADATA", "Name: t\nVersion: 1.0\n")
        site = "lib/python3.13/site-packages"
        try:
            claims = install_wheels.Claims()
            (dist_info,) = install_wheels.install_wheel(whl, out, site, claims)
            install_wheels.console_scripts(out, site, dist_info, claims)
            count("install_wheels", "installed")
        except install_wheels.InstallError as err:
            one_line(err)
            count("install_wheels", "refused")
        except (
            ValueError
        ) as err:  # a tuple unpack of several .dist-info dirs raises InstallError first
            raise AssertionError(f"not an InstallError: {err!r}") from err
        outside = sorted(
            str(p.relative_to(case))
            for p in case.rglob("*")
            if p != whl and p != out and out not in p.parents
        )
        assert not outside, f"written outside --out-dir: {outside}"
        for p in out.rglob("*"):
            assert os.path.realpath(p).startswith(str(out.resolve()) + "/")


# --- build_volume's tree reader --------------------------------------------------

LINK_TARGET = st.one_of(
    st.lists(st.sampled_from(["..", ".", "a", "b", "x", "y", "z"]), min_size=1, max_size=5).map(
        "/".join
    ),
    st.sampled_from(["/etc", "/", ""]),
)
TREE_OP = st.tuples(
    st.sampled_from(["dir", "file", "link"]),
    st.lists(st.sampled_from(["a", "b", "x", "y", "z"]), min_size=1, max_size=3).map("/".join),
    LINK_TARGET,
)


@FUZZ
@given(ops=st.lists(TREE_OP, max_size=10))
def test_build_volume_accepts_only_links_the_kernel_resolves_inside(ops):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "deep/er/root"  # room above it for an escape to land in
        root.mkdir(parents=True)
        for kind, rel, target in ops:
            path = root / rel
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                if kind == "dir":
                    path.mkdir()
                elif kind == "file":
                    path.write_bytes(b"x")
                elif target:
                    os.symlink(target, path)
            except OSError:
                continue  # a path through a file or a link: not a tree one can make
        entries: dict = {}
        try:
            build_volume.add_tree(entries, root)
            build_volume.check_links(entries)
            count("build_volume", "accepted")
        except build_volume.VolumeError as err:
            one_line(err)
            count("build_volume", "refused")
            return
        inside = str(root.resolve())
        for rel, entry in entries.items():
            if entry.kind == "symlink":
                real = os.path.realpath(root / rel)
                assert real == inside or real.startswith(inside + "/"), (
                    f"{rel} -> {entry.target} resolves to {real}, outside the root"
                )
            elif entry.kind == "file":
                assert os.path.realpath(entry.source).startswith(inside + "/"), entry


# --- the mirror's tree hash ------------------------------------------------------

MEMBER = st.tuples(
    st.sampled_from(["file", "file", "dir", "sym", "hard", "fifo"]),
    st.tuples(
        st.one_of(
            st.just("top/"), st.sampled_from(["./top/", "top//", "top/./", "other/", "", "/top/"])
        ),
        st.lists(st.sampled_from(["a", "b", "c", "..", "."]), min_size=1, max_size=3).map("/".join),
    ).map("".join),
    st.sampled_from([b"GOOD", b"EVIL", b""]),
    st.sampled_from(["a", "top/a", "b", "../x", "/etc/passwd", "c/a"]),
    st.booleans(),
)


def make_tar(path: Path, members) -> None:
    with tarfile.open(path, "w") as tar:
        for kind, name, data, link, executable in members:
            info = tarfile.TarInfo(name)
            info.mode = 0o755 if executable else 0o644
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "sym": tarfile.SYMTYPE,
                "hard": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.linkname = link
            tar.addfile(info)


def lines_of_extracted(top: Path) -> list[str]:
    """The tree hash's lines, computed from a real extraction instead of the archive."""
    lines = {}
    for dirpath, dirnames, filenames in os.walk(top):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            rel = str(path.relative_to(top))
            if path.is_symlink():
                lines[rel] = f"l {os.readlink(path)} {rel}\n"
            elif path.is_file():
                mode = "x" if path.stat().st_mode & 0o111 else "-"
                lines[rel] = f"f {mode} {hashlib.sha256(path.read_bytes()).hexdigest()} {rel}\n"
    return [lines[k] for k in sorted(lines, key=lambda p: p.encode())]


@FUZZ
@given(members=st.lists(MEMBER, max_size=8))
def test_treehash_lines_are_what_extraction_leaves(members):
    with tempfile.TemporaryDirectory() as tmp:
        archive, dest = Path(tmp) / "a.tar", Path(tmp) / "x"
        make_tar(archive, members)
        try:
            lines = tree_lines(archive, "top")
            count("treehash", "hashed")
        except TreeError as err:
            one_line(err)
            count("treehash", "refused")
            return
        dest.mkdir()
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="tar")  # refuses anything outside dest
        got = lines_of_extracted(dest / "top") if (dest / "top").is_dir() else []
        assert lines == got, f"hashed {lines}, extraction left {got}"


# --- krunner inspect and compare -------------------------------------------------

VOLUME_MEMBER = st.tuples(
    st.sampled_from(["file", "dir", "sym", "hard"]),
    st.one_of(PATH, st.sampled_from(["bin/ttyd", "./a", "a/METADATA"])),
    st.sampled_from([b"", b"\x7fELF\x02\x01\x01" + bytes(57), b"Name: n\nVersion: 1\n"]),
    st.sampled_from(["a", "..", "bin/ttyd", "/x", "a/../.."]),
)
MUTATION = st.sampled_from(
    [
        "none",
        "drop-metadata",
        "drop-wheel",
        "metadata-binary",
        "sbom-junk",
        "sbom-list",
        "sbom-odd",
        "entry-junk",
        "versions-junk",
        "volume-junk",
    ]
)


def wheel_bytes(volume_members, mutation: str, junk: bytes) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        for kind, name, data, link in volume_members:
            info = tarfile.TarInfo(name)
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                info.type = {
                    "dir": tarfile.DIRTYPE,
                    "sym": tarfile.SYMTYPE,
                    "hard": tarfile.LNKTYPE,
                }[kind]
                info.linkname = link
                tar.addfile(info)
    volume = lzma.compress(raw.getvalue(), preset=0)
    di, pkg = "k-1.0.dist-info", "ai/backend/krunner/static_gnu"
    files = {
        f"{di}/METADATA": b"Metadata-Version: 2.1\nName: k\nVersion: 1.0\n",
        f"{di}/WHEEL": b"Wheel-Version: 1.0\nTag: py3-none-manylinux2014_x86_64\n",
        f"{di}/entry_points.txt": b"[backendai_krunner_v10]\nstatic_gnu = ai.backend.krunner.static_gnu\n",
        f"{pkg}/versions.txt": b"static-gnu\n",
        f"{pkg}/krunner-version.static-gnu.txt": b"15\n",
        f"{pkg}/krunner-env.static-gnu.x86_64.tar.xz": volume,
    }
    if mutation == "drop-metadata":
        del files[f"{di}/METADATA"]
    elif mutation == "drop-wheel":
        del files[f"{di}/WHEEL"]
    elif mutation == "metadata-binary":
        files[f"{di}/METADATA"] = junk
    elif mutation == "sbom-junk":
        files[f"{di}/sbom.spdx.json"] = junk
    elif mutation == "sbom-list":
        files[f"{di}/sbom.spdx.json"] = b"[1, 2]"
    elif mutation == "sbom-odd":
        files[f"{di}/sbom.cdx.json"] = json.dumps(
            {
                "components": [
                    {
                        "name": None,
                        "properties": [1, {"name": "krunner:artifact"}],
                        "licenses": [1, {"license": 2}],
                    }
                ]
            }
        ).encode()
    elif mutation == "entry-junk":
        files[f"{di}/entry_points.txt"] = junk
    elif mutation == "versions-junk":
        files[f"{pkg}/krunner-version.static-gnu.txt"] = junk
    elif mutation == "volume-junk":
        files[f"{pkg}/krunner-env.static-gnu.x86_64.tar.xz"] = volume[: len(junk)] + junk
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return out.getvalue()


@FUZZ
@given(
    volume_members=st.lists(VOLUME_MEMBER, max_size=6),
    mutation=MUTATION,
    junk=st.binary(max_size=24),
    flip=st.one_of(st.none(), st.tuples(st.integers(0, 4000), st.integers(1, 255))),
)
def test_krunner_inspect_reads_or_refuses_any_wheel(volume_members, mutation, junk, flip):
    data = bytearray(wheel_bytes(volume_members, mutation, junk))
    if flip is not None:  # one corrupted byte anywhere: headers, compressed streams, CRCs
        data[flip[0] % len(data)] ^= flip[1]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "k-1.0-py3-none-manylinux2014_x86_64.whl"
        path.write_bytes(bytes(data))
        try:
            wheel = reader.read_wheel(path)
        except reader.KrunnerError as err:
            one_line(err)
            count("krunner_inspect", "refused")
            return
        json.dumps(cli.inspect_data(wheel))
        json.dumps(cli.compare_data(wheel, wheel, 5))
        count("krunner_inspect", "read")
