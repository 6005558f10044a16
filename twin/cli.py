"""`civic twin ...` commands; the lead mounts this group with `main.add_command(twin)`."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

import click

from opendata.errors import CivicError
from twin.assignment import ALGORITHMS, AssignmentConfig, Progress, assign
from twin.errors import TwinError
from twin.results import write_results
from twin.tntp import read_folder


class _TwinGroup(click.Group):
    """Turns a `CivicError` into a one-line message and its exit code, never a traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except CivicError as err:
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


@twin.command("assign")
@click.option(
    "--tntp",
    "folder",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder with *_net.tntp and *_trips.tntp (README.md for cost weights).",
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
    default=1e-5,
    show_default=True,
    help="Stop at this relative gap.",
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
# CITY: the lead adds the `--city` option (published Helsinki network) here; it is not ours.
def assign_command(
    folder: Path, algorithm: str, target_gap: float, max_iter: int, out: Path | None, every: int
) -> None:
    """Run a static user-equilibrium assignment on a TNTP network."""
    config = AssignmentConfig(algorithm, target_gap, max_iter)  # checked before reading files
    if out is not None and out.suffix.lower() not in (".csv", ".parquet"):
        raise TwinError(f"{out}: --out must end in .csv or .parquet")
    case = read_folder(folder)
    start = time.perf_counter()
    result = assign(case.network, case.demand, config, progress_printer(sys.stderr, every))
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    elapsed = time.perf_counter() - start
    state = "converged" if result.converged else "stopped at the iteration cap"
    click.echo(
        f"{case.network.name}: {state} after {result.iterations} iterations in {elapsed:.2f}s, "
        f"gap {result.gap:.3e}, TSTT {result.tstt:.6g}, objective {result.objective:.10g}"
    )
    if result.unassigned > 0:
        click.echo(f"warning: {result.unassigned:g} trips have no path", err=True)
    if out is not None:
        click.echo(f"wrote {write_results(result, out)}")
