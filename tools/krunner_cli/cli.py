"""`krunner inspect` and `krunner compare` for Backend.AI krunner wheels.

Both work on our wheels and on upstream's published ones, read the volume
without extracting it, and print plain text, or JSON with --json. They also
read backend.ai-kernel-binary wheels (upstream's, and our drop-in): its members,
which are built here and which are upstream's, and their sizes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from krunner_cli.kernel_binary import (
    BinaryWheel,
    compare_binary_data,
    inspect_binary_data,
    is_kernel_binary,
    read_kernel_binary,
)
from krunner_cli.reader import KrunnerError, Wheel, components, read_wheel


def _load(path: str) -> Wheel | BinaryWheel:
    p = Path(path)
    if is_kernel_binary(p):
        return read_kernel_binary(p)
    if sys.stderr.isatty():
        total = p.stat().st_size if p.is_file() else 0
        with click.progressbar(length=total, label=f"reading {p.name}", file=sys.stderr) as bar:
            return read_wheel(p, progress=bar.update)
    return read_wheel(p)


def inspect_data(w: Wheel) -> dict:
    """The stable JSON of `krunner inspect --json`."""
    return {
        "file": w.path.name,
        "distribution": w.distribution,
        "version": w.version,
        "platform_tags": w.tags,
        "entry_point": w.entry_point,
        "distro_keys": w.distro_keys,
        "volume_version": w.volume_version,
        "python_version": w.python_version,
        "volume": {
            "member": w.volume.name,
            "packed_bytes": w.volume.packed_size,
            "unpacked_bytes": w.volume.unpacked_size,
            "files": w.volume.file_count,
        },
        "components": components(w),
    }


def _table(rows: list[list[str]], header: list[str]) -> str:
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [fmt.format(*header), fmt.format(*["-" * w for w in widths])]
        + [fmt.format(*[str(c) for c in r]) for r in rows]
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Inspect and compare Backend.AI krunner wheels (ours and upstream's)."""


@main.command()
@click.argument("wheel", type=click.Path())
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON with keys file, distribution, version, platform_tags, entry_point, distro_keys, "
    "volume_version, python_version, volume{member,packed_bytes,unpacked_bytes,files}, "
    "components[{name,version,license,source}].",
)
def inspect(wheel: str, as_json: bool) -> None:
    """What a krunner WHEEL carries: tags, distro key, volume, components.

    For a backend.ai-kernel-binary wheel: its members, their sizes and kinds, and
    which are built here (from its SBOM) and which are upstream's.
    """
    loaded = _load(wheel)
    if isinstance(loaded, BinaryWheel):
        _inspect_binary(inspect_binary_data(loaded), as_json)
        return
    data = inspect_data(loaded)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    v = data["volume"]
    click.echo(
        f"{data['distribution']} {data['version']}  ({data['file']})\n"
        f"platform tags:  {' '.join(data['platform_tags'])}\n"
        f"entry point:    {data['entry_point']}   distro keys: {', '.join(data['distro_keys'])}\n"
        f"volume version: {data['volume_version']}   python: {data['python_version']}\n"
        f"volume:         {v['member']}: {v['packed_bytes']:,} bytes packed, "
        f"{v['unpacked_bytes']:,} unpacked, {v['files']:,} files\n"
    )
    rows = [[c["name"], c["version"], c["license"], c["source"]] for c in data["components"]]
    click.echo(_table(rows, ["component", "version", "license", "from"]))


def _inspect_binary(data: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    sbom = "yes" if data["sbom"] else "none (every member is upstream's)"
    click.echo(
        f"{data['distribution']} {data['version']}  ({data['file']})\n"
        f"platform tags:  {' '.join(data['platform_tags'])}\n"
        f"SBOM:           {sbom}\n"
        f"members:        {data['ours_bytes']:,} bytes built here, "
        f"{data['upstream_bytes']:,} bytes upstream's\n"
    )
    rows = [
        [
            m["name"],
            f"{m['bytes']:,}",
            m["kind"],
            f"ours: {m['component']} {m['version']}".rstrip()
            if m["origin"] == "ours"
            else "upstream",
        ]
        for m in data["members"]
    ]
    click.echo(_table(rows, ["member", "bytes", "kind", "from"]))


def _compare_binary(data: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    c = data["counts"]
    click.echo(
        f"{data['a']} ({data['a_version']})  ->  {data['b']} ({data['b_version']})\n"
        f"members: {c['same']} same, {c['changed']} changed, {c['added']} added, "
        f"{c['removed']} removed\n"
    )

    def size(n):
        return "-" if n is None else f"{n:,}"

    rows = [
        [
            r["name"],
            size(r["a_bytes"]),
            size(r["b_bytes"]),
            "-"
            if r["a_bytes"] is None or r["b_bytes"] is None
            else f"{r['b_bytes'] - r['a_bytes']:+,}",
            f"{r['a_kind'] or '-'} -> {r['b_kind'] or '-'}",
            f"{r['a_origin'] or '-'} -> {r['b_origin'] or '-'}",
        ]
        for r in data["members"]
        if r["state"] != "same"
    ]
    click.echo(_table(rows, ["member", "a bytes", "b bytes", "delta", "kind", "from"]))


def compare_data(a: Wheel, b: Wheel, top: int) -> dict:
    """The stable JSON of `krunner compare --json`."""
    ma, mb = a.volume.members, b.volume.members
    files_a = {k for k, m in ma.items() if m.kind == "file"}
    files_b = {k for k, m in mb.items() if m.kind == "file"}
    changed = sorted(k for k in files_a & files_b if ma[k].sha256 != mb[k].sha256)
    pa = {c["name"].lower(): c["version"] for c in components(a)}
    pb = {c["name"].lower(): c["version"] for c in components(b)}
    packages = {
        n: {"a": pa.get(n), "b": pb.get(n)}
        for n in sorted(pa.keys() | pb.keys())
        if pa.get(n) != pb.get(n)
    }
    deltas = sorted(
        ((mb[k].size if k in files_b else 0) - (ma[k].size if k in files_a else 0), k)
        for k in files_a | files_b
    )
    biggest = sorted(deltas, key=lambda d: (-abs(d[0]), d[1]))[:top]
    return {
        "a": a.path.name,
        "b": b.path.name,
        "added": sorted(files_b - files_a),
        "removed": sorted(files_a - files_b),
        "changed": changed,
        "packages": packages,
        "size": {
            "a_unpacked": a.volume.unpacked_size,
            "b_unpacked": b.volume.unpacked_size,
            "a_packed": a.volume.packed_size,
            "b_packed": b.volume.packed_size,
        },
        "largest_deltas": [{"path": k, "delta_bytes": d} for d, k in biggest],
    }


@main.command()
@click.argument("wheel", type=click.Path())
@click.argument("other", type=click.Path())
@click.option(
    "--top", default=15, show_default=True, help="how many of the largest size deltas to list"
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="JSON with keys a, b, added, removed, changed, packages{name:{a,b}}, size, largest_deltas.",
)
def compare(wheel: str, other: str, top: int, as_json: bool) -> None:
    """What differs between the volumes of WHEEL and OTHER.

    For two backend.ai-kernel-binary wheels: each member that differs, with both
    sizes, kinds (ELF machine, static, stripped) and origins (ours or upstream's).
    """
    a, b = _load(wheel), _load(other)
    if isinstance(a, BinaryWheel) != isinstance(b, BinaryWheel):
        raise KrunnerError(
            f"{other if isinstance(a, BinaryWheel) else wheel}: compare a "
            "backend.ai-kernel-binary wheel with another one, not with a krunner wheel"
        )
    if isinstance(a, BinaryWheel):
        _compare_binary(compare_binary_data(a, b), as_json)
        return
    data = compare_data(a, b, top)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    s = data["size"]
    click.echo(
        f"{data['a']}  ->  {data['b']}\n"
        f"files: {len(data['added'])} added, {len(data['removed'])} removed, {len(data['changed'])} changed\n"
        f"volume: {s['a_packed']:,} -> {s['b_packed']:,} bytes packed, "
        f"{s['a_unpacked']:,} -> {s['b_unpacked']:,} unpacked\n"
    )
    if data["packages"]:
        click.echo(
            _table(
                [[n, v["a"] or "-", v["b"] or "-"] for n, v in data["packages"].items()],
                ["component", "a", "b"],
            )
            + "\n"
        )
    click.echo(
        _table(
            [[d["path"], f"{d['delta_bytes']:+,}"] for d in data["largest_deltas"]],
            ["largest size deltas", "bytes"],
        )
    )


def run() -> int:
    """Entry point: errors become one line naming the file and the problem, exit 2."""
    try:
        main(standalone_mode=False)
    except KrunnerError as err:
        click.echo(f"krunner: error: {err}", err=True)
        return 2
    except click.ClickException as err:
        err.show()
        return 2
    return 0
