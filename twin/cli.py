"""`civic twin ...` commands; the lead mounts this group with `main.add_command(twin)`."""

from __future__ import annotations

import dataclasses
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click

from twin.errors import USER_ERRORS
from twin.traffic.assignment import ALGORITHMS, DEFAULT_TARGET_GAP, AssignmentConfig, assign
from twin.traffic.errors import TrafficError
from twin.traffic.results import Progress, write_results
from twin.traffic.tntp import read_folder


class _TwinGroup(click.Group):
    """Turns a user error (`twin.errors.USER_ERRORS`) into a one-line message and its exit code,
    never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except USER_ERRORS as err:
            exc = click.ClickException(str(err))
            exc.exit_code = err.exit_code
            raise exc from None


@click.group(cls=_TwinGroup)
def twin() -> None:
    """Traffic twin: networks, demand and equilibrium assignment."""


def progress_printer(stream: TextIO, every: int = 10) -> Callable[[Progress], None]:
    """A callback printing iteration, gap and elapsed time: overwritten in place on a tty."""
    live = stream.isatty()

    def report(p: Progress) -> None:
        line = f"iteration {p.iteration:5d}  gap {p.gap:.3e}  elapsed {p.elapsed:7.2f}s"
        if live:
            stream.write("\r" + line)
        elif p.iteration == 1 or p.iteration % every == 0:
            stream.write(line + "\n")
        stream.flush()

    return report


def _tntp(folder: Path):
    case = read_folder(folder)
    return case.network, case.demand


def _city(ctx: click.Context):
    """The city model from the current published datasets (its links map back to road fids)."""
    from opendata.settings import Settings
    from twin.city.model import build_city_model

    obj = ctx.find_root().obj
    settings = obj.get("settings") if isinstance(obj, dict) else None
    model = build_city_model(settings or Settings.from_env())
    versions = ", ".join(f"{k} v{v}" for k, v in sorted(model.versions.items()))
    click.echo(
        f"city network from published {versions}: {model.network.n_links} links, "
        f"{model.network.zones} zones, {model.demand.sum():.0f} peak-hour trips",
        err=True,
    )
    # In the results file `source_id` is the published road feature's fid (-1: zone connector).
    return dataclasses.replace(model.network, source_id=model.road_fid), model.demand


@twin.command("assign")
@click.option(
    "--tntp",
    "folder",
    type=click.Path(path_type=Path),
    default=None,
    help="Folder with *_net.tntp and *_trips.tntp (README.md for cost weights).",
)
@click.option(
    "--city",
    is_flag=True,
    help="Assign on the bundled city, built from the published roads and buildings datasets.",
)
@click.option(
    "--algorithm",
    default="bfw",
    show_default=True,
    help=f"One of: {', '.join(ALGORITHMS)} (gp: path-based).",
)
@click.option(
    "--gap",
    "target_gap",
    type=float,
    default=DEFAULT_TARGET_GAP,
    show_default=True,
    help="Stop at this relative gap (the default of every run, scenarios included).",
)
@click.option(
    "--max-iter",
    "max_iter",
    type=int,
    default=1000,
    show_default=True,
    help="Stop after this many iterations.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write link results to this .csv or .parquet file.",
)
@click.option(
    "--every",
    type=int,
    default=10,
    show_default=True,
    help="Without a terminal, print one progress line per this many iterations.",
)
@click.pass_context
def assign_command(
    ctx: click.Context,
    folder: Path | None,
    city: bool,
    algorithm: str,
    target_gap: float,
    max_iter: int,
    out: Path | None,
    every: int,
) -> None:
    """Run a static user-equilibrium assignment on a TNTP network or on the bundled city."""
    config = AssignmentConfig(algorithm, target_gap, max_iter)  # checked before reading files
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise TrafficError(f"{out}: --out must end in .csv or .parquet")
    if (folder is None) == (not city):
        raise TrafficError("give exactly one of --tntp FOLDER or --city")
    network, demand = _city(ctx) if city else _tntp(folder)
    start = time.perf_counter()
    result = assign(network, demand, config, progress_printer(sys.stderr, every))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    elapsed = time.perf_counter() - start
    state = "converged" if result.converged else "stopped at the iteration cap"
    click.echo(
        f"{network.name}: {state} after {result.iterations} iterations in {elapsed:.2f}s, "
        f"gap {result.gap:.3e}, TSTT {result.tstt:.6g}, objective {result.objective:.10g}"
    )
    if result.unassigned > 0:
        click.echo(f"warning: {result.unassigned:g} trips have no path", err=True)
    if out is not None:
        click.echo(f"wrote {write_results(result, out)}")
