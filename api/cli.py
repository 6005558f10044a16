"""The `civic` command: one entry point composing the opendata and twin command groups."""

from __future__ import annotations

import sys
import traceback

import click

from api.serve import serve_cmd
from opendata.cli import COMMANDS as OPENDATA_COMMANDS
from opendata.errors import CivicError
from opendata.settings import Settings
from twin.batch import sweep_command
from twin.cli import twin as twin_group
from twin.jobs import worker_command
from twin.scenario_cli import compare_command, run_command


@click.group()
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Civic open data platform and digital twin."""
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug
    ctx.obj["settings"] = Settings.from_env()


for _command in OPENDATA_COMMANDS:
    cli.add_command(_command)
cli.add_command(serve_cmd)
twin_group.add_command(run_command)
twin_group.add_command(compare_command)
twin_group.add_command(worker_command)
twin_group.add_command(sweep_command)
cli.add_command(twin_group)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user errors print one line and exit 2; bugs exit 1 (traceback with --debug)."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="civic", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except CivicError as err:
        if debug:
            traceback.print_exc()
        click.echo(f"error: {err}", err=True)
        sys.exit(err.exit_code)
    except Exception as err:  # noqa: BLE001 - the last line of defence for the user
        if debug:
            traceback.print_exc()
        click.echo(
            f"internal error: {type(err).__name__}: {err} (run with --debug for details)", err=True
        )
        sys.exit(1)
