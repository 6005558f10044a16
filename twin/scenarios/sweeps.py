"""Scenario sweeps on Dask distributed: one base scenario, many variants (a charge from 0 to 60, a
set of speed limits...), each run as a task. The baseline is solved once for the whole sweep (by
the client, once per distinct baseline) and broadcast to every worker, so no worker and no
variant solves it again. A LocalCluster by default; a real cluster by its scheduler's address
(`CIVIC_DASK_SCHEDULER`)."""

from __future__ import annotations

import copy
import json
import os
import re
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import pandas as pd

from opendata.errors import CivicError, SpecError
from opendata.settings import Settings
from twin.errors import USER_ERRORS
from twin.scenarios.cli import HEADLINE
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.run import Baseline, prepare_baseline, publish_result, run_scenario
from twin.scenarios.spec import load_scenario, parse_scenario

_STEP = re.compile(r"([A-Za-z_]\w*)|\[(\d+)\]")
_PATH = re.compile(r"^[A-Za-z_]\w*(\[\d+\])*(\.[A-Za-z_]\w*(\[\d+\])*)*$")


@dataclass(frozen=True)
class Sweep:
    """Every variant's summary (`ScenarioResult.to_dict()`) and a tidy table of headline totals."""

    summaries: list[dict[str, Any]]
    table: pd.DataFrame
    seconds: float


def set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of `data` with `path` (e.g. `edits[0].amount`) set to `value`.

    >>> set_path({"edits": [{"amount": 3}]}, "edits[0].amount", 10)
    {'edits': [{'amount': 10}]}
    """
    if not _PATH.match(path):
        raise SpecError(f"{path}: not a parameter path like edits[0].amount")
    steps = [name or int(index) for name, index in _STEP.findall(path)]
    out = copy.deepcopy(data)
    node: Any = out
    for i, step in enumerate(steps[:-1]):
        try:
            node = node[step]
        except (KeyError, IndexError, TypeError):
            raise SpecError(f"{path}: the scenario has no {_show(steps[: i + 1])}") from None
    if not isinstance(node, dict | list) or (isinstance(node, list) and steps[-1] >= len(node)):
        raise SpecError(f"{path}: the scenario has no {_show(steps)}")
    node[steps[-1]] = value
    return out


def _show(steps: list[str | int]) -> str:
    return "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps).lstrip(".")


def variant_specs(base: dict[str, Any], variants: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One spec per variant (its overrides applied, named `<base>_v00`...), all parsed up front
    so a bad variant fails before any cluster starts."""
    specs = []
    for i, overrides in enumerate(variants):
        spec = base
        for path, value in overrides.items():
            spec = set_path(spec, path, value)
        spec = {**spec, "name": f"{base['name'][:35]}_v{i:02d}"}
        try:
            parse_scenario(spec)
        except SpecError as err:
            raise SpecError(f"variant {i} {json.dumps(overrides)}: {err}") from None
        specs.append(spec)
    return specs


@dataclass(frozen=True)
class SharedBaseline:
    """A baseline solved once for a sweep, with a token naming that one solve (process and a
    random id), which every variant run on it reports back in its summary."""

    token: str
    baseline: Baseline


def solve_baseline(settings: Settings, spec_dict: dict[str, Any]) -> SharedBaseline:
    """Solve the baseline `spec_dict` runs against, in this process."""
    baseline = prepare_baseline(settings, parse_scenario(spec_dict))
    return SharedBaseline(f"{os.getpid()}-{uuid.uuid4().hex[:8]}", baseline)


def run_variant(
    settings: Settings,
    spec_dict: dict[str, Any],
    publish: bool = False,
    shared: SharedBaseline | None = None,
) -> dict:
    """One variant (a Dask task): run it on the shared baseline (solving its own only when none
    is given), optionally publish; the summary says which baseline solve it used."""
    shared = shared or solve_baseline(settings, spec_dict)
    result = run_scenario(settings, parse_scenario(spec_dict), baseline=shared.baseline)
    summary = result.to_dict()
    summary["sweep"] = {"baseline": shared.token, "pid": os.getpid()}
    if publish:
        summary["versions"] = publish_result(settings, result)
    return summary


def baseline_groups(specs: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """One spec per distinct baseline among the variants (a sweep over a charge has one; one over
    the assignment's settings needs one baseline per setting)."""
    groups: dict[str, dict[str, Any]] = {}
    for spec in specs:
        groups.setdefault(parse_scenario(spec).baseline_key(), spec)
    return groups


@contextmanager
def dask_client(settings: Settings, scheduler: str | None, n_workers: int) -> Iterator[Any]:
    """A client of the given scheduler, `CIVIC_DASK_SCHEDULER`, or a fresh LocalCluster."""
    try:
        from distributed import Client, LocalCluster
    except ModuleNotFoundError:  # the `dask` extra is not part of the core install
        raise CivicError("scenario sweeps need the `dask` extra (pip install '.[dask]')") from None

    address = scheduler or settings.dask_scheduler
    if address:
        with Client(address) as client:
            yield client
        return
    with (
        LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        yield client


def run_sweep(
    settings: Settings,
    base_spec: ScenarioSpec | dict[str, Any],
    variants: list[dict[str, Any]],
    *,
    scheduler: str | None = None,
    n_workers: int = 2,
    publish: bool = False,
    share: bool = True,
) -> Sweep:
    """Run every variant of `base_spec` on Dask; summaries come back in variant order. The
    baseline is solved once and shared (`share=False`: every variant solves its own, the
    reference the benchmark compares against)."""
    base = base_spec.raw if isinstance(base_spec, ScenarioSpec) else base_spec
    specs = variant_specs(base, variants)
    start = time.perf_counter()
    with dask_client(settings, scheduler, n_workers) as client:
        # Solved here, once, then copied to every worker up front (not fetched on demand, which
        # would draw every variant to the worker already holding the baseline).
        groups = baseline_groups(specs) if share else {}
        solved = {
            k: client.scatter(solve_baseline(settings, s), broadcast=True, hash=False)
            for k, s in groups.items()
        }
        futures = [
            client.submit(
                run_variant,
                settings,
                s,
                publish,
                solved.get(parse_scenario(s).baseline_key()),
                pure=False,
            )
            for s in specs
        ]
        summaries = client.gather(futures)
    return Sweep(summaries, headline_table(summaries, variants), time.perf_counter() - start)


def run_serial(
    settings: Settings, base_spec: ScenarioSpec | dict[str, Any], variants: list[dict[str, Any]]
) -> Sweep:
    """The same variants one after another in this process (one baseline): the reference."""
    base = base_spec.raw if isinstance(base_spec, ScenarioSpec) else base_spec
    specs = variant_specs(base, variants)
    start = time.perf_counter()
    solved = {k: solve_baseline(settings, s) for k, s in baseline_groups(specs).items()}
    summaries = [
        run_variant(settings, s, shared=solved[parse_scenario(s).baseline_key()]) for s in specs
    ]
    return Sweep(summaries, headline_table(summaries, variants), time.perf_counter() - start)


def headline_table(summaries: list[dict[str, Any]], variants: list[dict[str, Any]]) -> pd.DataFrame:
    """Tidy rows: variant, its parameter values, metric, unit, base, scen, change, pct_change."""
    rows = []
    for summary, overrides in zip(summaries, variants, strict=True):
        for metric in HEADLINE:
            t = summary["totals"].get(metric)
            if t is not None:
                rows.append(
                    {"variant": summary["scenario"]["name"], **overrides, "metric": metric, **t}
                )
    return pd.DataFrame(rows)


def parse_values(text: str) -> list[Any]:
    """`0,10,20` or `["a", 1.5]` as a list of numbers (or JSON values, else strings)."""
    if text.strip().startswith("["):
        return json.loads(text)
    out: list[Any] = []
    for item in (s.strip() for s in text.split(",") if s.strip()):
        try:
            out.append(json.loads(item))
        except json.JSONDecodeError:
            out.append(item)
    return out


@click.command("sweep")
@click.argument("scenario", type=click.Path(path_type=Path))
@click.option("--param", required=True, help="Parameter path, e.g. edits[0].amount.")
@click.option("--values", "values", required=True, help="Comma-separated values, e.g. 0,10,20.")
@click.option("--scheduler", default=None, help="Dask scheduler address (default: a LocalCluster).")
@click.option("--workers", type=int, default=2, show_default=True, help="LocalCluster workers.")
@click.option("--publish", is_flag=True, help="Publish every variant as scenario_<name>_v<i>_*.")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Write the table (.csv)."
)
@click.pass_context
def sweep_command(
    ctx: click.Context,
    scenario: Path,
    param: str,
    values: str,
    scheduler: str | None,
    workers: int,
    publish: bool,
    out: Path | None,
) -> None:
    """Run a scenario for each value of one parameter on Dask and tabulate the headline totals."""
    obj = ctx.find_root().obj
    settings = obj.get("settings") if isinstance(obj, dict) else None
    settings = settings or Settings.from_env()
    try:
        variants = [{param: v} for v in parse_values(values)]
        sweep = run_sweep(
            settings,
            load_scenario(scenario),
            variants,
            scheduler=scheduler,
            n_workers=workers,
            publish=publish,
        )
    except USER_ERRORS as err:
        exc = click.ClickException(str(err))
        exc.exit_code = err.exit_code
        raise exc from None
    wide = sweep.table.pivot(index="metric", columns=param, values="scen").reindex(list(HEADLINE))
    click.echo(f"{len(variants)} variants in {sweep.seconds:.1f}s; scenario values by {param}:")
    click.echo(wide.dropna(how="all").to_string(float_format=lambda v: f"{v:,.2f}"))
    if out is not None:
        sweep.table.to_csv(out, index=False)
        click.echo(f"wrote {out}", err=True)


if __name__ == "__main__":
    sweep_command(sys.argv[1:], obj={})
