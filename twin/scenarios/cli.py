"""`civic twin run` and `civic twin compare`; the lead adds `run_command` and `compare_command` to
the `twin` group. User errors print one line and exit 2."""

from __future__ import annotations

import functools
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

import click

from opendata.errors import CivicError
from opendata.settings import Settings
from twin.errors import USER_ERRORS
from twin.scenarios.maps import write_maps
from twin.scenarios.run import (
    ScenarioResult,
    compare_results,
    load_result,
    publish_result,
    run_scenario,
)
from twin.scenarios.spec import load_scenario
from twin.traffic.results import Progress

HEADLINE = (
    "trips",
    "trips_car",
    "trips_pt",
    "trips_bike",
    "trips_walk",
    "user_cost",
    "vehicle_km",
    "vehicle_hours",
    "mean_speed",
    "delay_vehicle_hours",
    "co2",
    "nox",
    "residents_lden_55_plus",
    "walk_grocery_10min",
    "morning_delay_hours",
    "relative_gap",
    "demand_gap",
)


def _one_line_errors(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn a user error (`twin.errors.USER_ERRORS`) into click's one-line error with exit code 2,
    never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except USER_ERRORS as err:
            exc = click.ClickException(str(err))
            exc.exit_code = err.exit_code
            raise exc from None

    return wrapper


def _settings(ctx: click.Context) -> Settings:
    obj = ctx.find_root().obj
    return obj["settings"] if isinstance(obj, dict) and "settings" in obj else Settings.from_env()


def progress_line(stream: TextIO, start: float) -> Callable[[str, Progress | None], None]:
    """Stage, assignment iteration, gap and elapsed seconds: in place on a tty, else per stage."""
    live = stream.isatty()

    def report(stage: str, p: Progress | None) -> None:
        elapsed = time.perf_counter() - start
        line = f"{stage:<28} {elapsed:7.2f}s"
        if p is not None:
            line = f"{stage:<28} iteration {p.iteration:4d}  gap {p.gap:.2e}  {elapsed:7.2f}s"
        if live:
            stream.write("\r\033[K" + line)
        elif p is None or p.iteration % 25 == 0:
            stream.write(line + "\n")
        stream.flush()

    return report


def _fmt(value: float | None) -> str:
    if value is None or value != value:
        return "-"
    return f"{value:.3g}" if abs(value) < 0.01 and value != 0 else f"{value:,.2f}"


def headline_table(result: dict[str, Any]) -> str:
    """The before/after rows of the headline metrics, as aligned text."""
    rows = [f"{'metric':<24} {'unit':<9} {'baseline':>12} {'scenario':>12} {'change':>10} {'%':>7}"]
    for metric in HEADLINE:
        t = result["totals"].get(metric)
        if t is None:
            continue
        base, scen, change, pct = (_fmt(t[k]) for k in ("base", "scen", "change", "pct_change"))
        rows.append(f"{metric:<24} {t['unit']:<9} {base:>12} {scen:>12} {change:>10} {pct:>7}")
    return "\n".join(rows)


def write_outputs(result: ScenarioResult, out: Path) -> list[Path]:
    """The JSON summary plus links, buildings and zones as GeoJSON in `out`."""
    out.mkdir(parents=True, exist_ok=True)
    name = result.spec.name
    summary = out / f"{name}.json"
    summary.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    paths = [summary]
    for part in ("links", "buildings", "zones"):
        path = out / f"{name}_{part}.geojson"
        getattr(result, part).to_file(path, driver="GeoJSON")
        paths.append(path)
    return paths


@click.command("run")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option(
    "--publish/--no-publish",
    default=True,
    show_default=True,
    help="Publish the results as scenario_<name>_* datasets.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write the JSON summary and GeoJSON layers to this folder.",
)
@click.pass_context
@_one_line_errors
def run_command(ctx: click.Context, scenario: Path, publish: bool, out: Path | None) -> None:
    """Run a planning scenario (TOML or JSON) against its baseline and compare them."""
    spec = load_scenario(scenario)
    settings = _settings(ctx)
    start = time.perf_counter()
    result = run_scenario(settings, spec, progress=progress_line(sys.stderr, start))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    summary = result.to_dict()
    gaps = summary["convergence"]
    click.echo(
        f"{spec.name}: solved in {time.perf_counter() - start:.1f}s; relative gap baseline "
        f"{gaps['baseline']['gap']:.1e}, scenario {gaps['scenario']['gap']:.1e} "
        f"(target {gaps['target_gap']:.0e})"
    )
    demand = summary["convergence"]["demand"]
    click.echo(
        f"demand: {summary['demand']['assumption']}; demand/supply gap baseline "
        f"{demand['baseline']['gap']:.1e}, scenario {demand['scenario']['gap']:.1e} "
        f"(target {demand['target_gap']:.0e}); changes below "
        f"{gaps['noise_pct']:.2g} % are convergence noise"
    )
    click.echo(headline_table(summary))
    if publish:
        versions = publish_result(settings, result)
        listed = ", ".join(f"scenario_{spec.name}_{p} v{v}" for p, v in versions.items())
        click.echo(f"published {listed}")
        for path in write_maps(settings, result).values():
            click.echo(f"wrote {path}")
    if out is not None:
        for path in write_outputs(result, out):
            click.echo(f"wrote {path}")


@click.command("compare")
@click.argument("a")
@click.argument("b")
@click.pass_context
@_one_line_errors
def compare_command(ctx: click.Context, a: str, b: str) -> None:
    """Compare two scenario results: published scenario names or result JSON files."""
    settings = _settings(ctx)
    table = compare_results(load_result(settings, a), load_result(settings, b))
    if table.empty:
        raise CivicError(f"{a} and {b} have no metric in common")
    click.echo(f"{'metric':<24} {'unit':<9} {'A':>12} {'B':>12} {'B - A':>12}")
    for r in table.itertuples():
        click.echo(
            f"{r.metric:<24} {r.unit:<9} {_fmt(r.a):>12} {_fmt(r.b):>12} {_fmt(r.b_minus_a):>12}"
        )
