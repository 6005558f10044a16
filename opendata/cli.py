"""`civic ingest`, `validate`, `datasets` and `versions`: the data staff's commands."""

from __future__ import annotations

import json
from pathlib import Path

import click

from opendata.errors import CivicError, NotFound
from opendata.ingest.pipeline import ingest
from opendata.ingest.specs import find_specs, load_spec
from opendata.settings import Settings
from opendata.store.catalog import Catalog


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"] if ctx.obj and "settings" in ctx.obj else Settings.from_env()


@click.command("ingest")
@click.argument("names", nargs=-1)
@click.pass_context
def ingest_cmd(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Ingest the named datasets (all specs in the datasets folder when none are named)."""
    settings = _settings(ctx)
    specs = find_specs(settings.datasets_dir)
    if not specs:
        raise CivicError(f"no dataset specs (*.toml) in {settings.datasets_dir}")
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise NotFound(
            f"no spec for {', '.join(unknown)} in {settings.datasets_dir}; "
            f"known: {', '.join(specs)}"
        )
    failures = []
    for name in names or tuple(specs):
        try:
            result = ingest(load_spec(specs[name]), settings)
        except CivicError as err:
            failures.append(name)
            click.echo(f"{name}: FAILED: {err}", err=True)
            continue
        click.echo(
            f"{name}: {result.status} version {result.version} ({result.rows} rows, "
            f"{result.report.get('rows_quarantined', 0)} quarantined)"
        )
    if failures:
        raise CivicError(
            f"{len(failures)} dataset(s) failed: {', '.join(failures)}; "
            "nothing was published for them"
        )


@click.command("validate")
@click.argument("spec", type=click.Path(path_type=Path))
def validate_cmd(spec: Path) -> None:
    """Check a spec file (keys, types, required fields) without ingesting."""
    loaded = load_spec(spec)
    click.echo(
        f"{spec}: OK (dataset '{loaded.name}', {len(loaded.schema.fields)} fields, "
        f"format {loaded.source.format})"
    )


@click.command("datasets")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def datasets_cmd(ctx: click.Context, as_json: bool) -> None:
    """List datasets with current version, rows, bbox and last run status."""
    settings = _settings(ctx)
    catalog = Catalog(settings.catalog_url)
    known = {ds.name: ds for ds in catalog.datasets()}
    names = sorted(set(known) | set(find_specs(settings.datasets_dir)))
    rows = []
    for name in names:
        ds = known.get(name)
        last = catalog.runs(name, limit=1)
        current = catalog.version(name) if ds and ds.current_version else None
        rows.append(
            {
                "name": name,
                "version": ds.current_version if ds else None,
                "rows": current.rows if current else None,
                "bbox": current.bbox if current else None,
                "status": last[0]["status"] if last else "never run",
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    click.echo(f"{'name':<24}{'version':>8}{'rows':>10}  {'status':<10}bbox")
    for r in rows:
        bbox = ",".join(f"{v:.4f}" for v in r["bbox"]) if r["bbox"] else "-"
        click.echo(
            f"{r['name']:<24}{r['version'] or '-':>8}{r['rows'] or 0:>10}  {r['status']:<10}{bbox}"
        )


@click.command("versions")
@click.argument("name")
@click.pass_context
def versions_cmd(ctx: click.Context, name: str) -> None:
    """List the versions of one dataset, newest last."""
    catalog = Catalog(_settings(ctx).catalog_url)
    current = catalog.dataset(name).current_version
    for v in catalog.versions(name):
        mark = "*" if v.version == current else " "
        click.echo(
            f"{mark} v{v.version:<4} {v.created_at}  {v.rows:>8} rows  "
            f"{v.size_bytes:>10} bytes  {v.content_hash[:12]}  {v.path}"
        )


COMMANDS = [ingest_cmd, validate_cmd, datasets_cmd, versions_cmd]
