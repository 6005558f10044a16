"""`civic ingest`, `validate`, `datasets`, `versions` and `db upgrade`: the data staff's
commands."""

from __future__ import annotations

import json
import logging
import sys
import traceback
from pathlib import Path

import click
import sqlalchemy as sa

from opendata.errors import BatchFailed, CivicError, InternalError, NotFound
from opendata.ingest.pipeline import ingest, public_message
from opendata.ingest.specs import find_specs, load_spec
from opendata.settings import Settings
from opendata.store import schema
from opendata.store.catalog import Catalog, engine_for
from opendata.store.orphans import find_orphans
from opendata.store.tiles import build_basemap

log = logging.getLogger(__name__)


def _settings(ctx: click.Context) -> Settings:
    return ctx.obj["settings"] if ctx.obj and "settings" in ctx.obj else Settings.from_env()


@click.command("ingest")
@click.argument("names", nargs=-1)
@click.pass_context
def ingest_cmd(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Ingest the named datasets (all specs in the datasets folder when none are named).

    One dataset failing never stops the others; a summary names what was published, unchanged
    and failed, and the exit status is non-zero when any failed."""
    settings = _settings(ctx)
    debug = bool(ctx.obj and ctx.obj.get("debug"))
    if debug:
        _log_to_stderr()
    specs = find_specs(settings.datasets_dir)
    if not specs:
        raise CivicError("no dataset specs (*.toml) in the datasets folder (CIVIC_DATASETS_DIR)")
    unknown = [n for n in names if n not in specs]
    if unknown:
        raise NotFound(
            f"no spec for {', '.join(_printable(n) for n in unknown)} in the datasets folder; "
            f"known: {', '.join(specs)}"
        )
    outcomes: dict[str, list[str]] = {"published": [], "unchanged": [], "failed": []}
    unexpected = False
    for name in names or tuple(specs):
        status = _ingest_one(name, specs[name], settings, debug=debug)
        unexpected |= status == "unexpected"
        outcomes["failed" if status == "unexpected" else status].append(name)
    _basemap(settings)
    click.echo("summary: " + ", ".join(f"{len(v)} {k}" + (f" ({', '.join(v)})" if v else "")
                                       for k, v in outcomes.items()))  # fmt: skip
    failed = outcomes["failed"]
    if failed:
        raise BatchFailed(
            f"{len(failed)} of {sum(map(len, outcomes.values()))} dataset(s) failed: "
            f"{', '.join(failed)}; nothing was published for them",
            unexpected=unexpected,
        )


def _basemap(settings: Settings) -> None:
    """Rebuild the basemap's vector tiles when a source got a new version (a failure is reported
    and leaves the previous tiles serving; the datasets stay published)."""
    try:
        basemap = build_basemap(settings)
    except CivicError as err:
        click.echo(f"basemap: not rebuilt ({public_message(str(err), settings)})", err=True)
        return
    if basemap is not None:
        click.echo(f"basemap: vector tiles of {', '.join(basemap.layers)} ({basemap.key})")


def _ingest_one(name: str, spec_path: Path, settings: Settings, *, debug: bool) -> str:
    """Ingest one dataset and print its line; its status: published, unchanged, failed or
    unexpected (a failure that is not the data's). Never raises: the batch goes on."""
    try:
        result = ingest(load_spec(spec_path, settings.city), settings)
    except CivicError as err:
        _failed(name, public_message(str(err), settings), err, debug)
        return "unexpected" if isinstance(err, InternalError) else "failed"
    except Exception as err:  # noqa: BLE001 - one dataset's bug must not stop the batch
        log.debug("%s failed", name, exc_info=True)
        _failed(name, f"unexpected error ({type(err).__name__}); run with --debug", err, debug)
        return "unexpected"
    click.echo(
        f"{name}: {result.status} version {result.version} ({result.rows} rows, "
        f"{result.report.get('rows_quarantined', 0)} quarantined)"
    )
    return result.status


def _failed(name: str, message: str, err: Exception, debug: bool) -> None:
    """The dataset's line; with --debug first its traceback (unexpected errors are logged with
    theirs where they are caught, so not twice)."""
    if debug and isinstance(err, CivicError) and not isinstance(err, InternalError):
        traceback.print_exception(err, file=sys.stderr)
    click.echo(f"{name}: FAILED: {message}", err=True)


def _log_to_stderr() -> None:
    """`--debug`: the platform's log (with the libraries' original messages) on stderr."""
    logger = logging.getLogger("opendata")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


def _printable(text: str) -> str:
    """A name as typed, with control characters shown as escapes (`\\x1b`), never obeyed."""
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


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


@click.group("db")
def db_group() -> None:
    """The catalog database: its schema migrations (opendata/store/migrations/)."""


@db_group.command("upgrade")
@click.pass_context
def db_upgrade_cmd(ctx: click.Context) -> None:
    """Migrate the catalog (and CIVIC_SCENARIO_JOBS_URL when set) to the newest schema.

    Databases made before migrations existed are adopted, then migrated; every process also
    does this on first use, so this command is for deployments that migrate before rollout."""
    settings = _settings(ctx)
    for variable, url in (
        ("CIVIC_CATALOG_URL", settings.catalog_url),
        ("CIVIC_SCENARIO_JOBS_URL", settings.scenario_jobs_url),
    ):
        if url:
            revision = _upgrade(variable, url)
            click.echo(f"{variable} ({_safe_url(url)}): at revision {revision}")


def _safe_url(url: str) -> str:
    return sa.make_url(url).render_as_string(hide_password=True)


def _upgrade(variable: str, url: str) -> str:
    try:
        return schema.upgrade(engine_for(url))
    except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError) as err:
        raise CivicError(f"{variable} is not a database URL this install can open: {err}") from err
    except ModuleNotFoundError as err:
        raise CivicError(
            f"{variable} needs the database driver {err.name!r}: install the `postgres` extra"
        ) from err
    except sa.exc.OperationalError as err:
        reason = str(err.orig).strip().splitlines()[0] if err.orig else type(err).__name__
        raise CivicError(f"cannot reach the database of {variable} ({reason})") from err


@click.group("store")
def store_group() -> None:
    """The store of published versions (a folder or s3://)."""


@store_group.command("orphans")
@click.option("--delete", is_flag=True, help="Remove them (each under its dataset's lock).")
@click.pass_context
def orphans_cmd(ctx: click.Context, delete: bool) -> None:
    """List version files no catalog row names (left by killed publishes); --delete removes them."""
    found = find_orphans(_settings(ctx), delete=delete)
    for prefix in found:
        click.echo(f"{'deleted' if delete else 'orphan'} {prefix}")
    click.echo(f"{len(found)} orphan(s){' deleted' if delete and found else ''}")


COMMANDS = [ingest_cmd, validate_cmd, datasets_cmd, versions_cmd, db_group, store_group]
