"""`krunner inspect` and `krunner compare` for Backend.AI krunner wheels.

Both work on our wheels and on upstream's published ones, read the volume
without extracting it, and print plain text, or JSON with --json.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from krunner_cli.reader import KrunnerError, Wheel, components, read_wheel


def _load(path: str) -> Wheel:
    p = Path(path)
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
    """What a krunner WHEEL carries: tags, distro key, volume, components."""
    data = inspect_data(_load(wheel))
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
    """What differs between the volumes of WHEEL and OTHER."""
    data = compare_data(_load(wheel), _load(other), top)
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
