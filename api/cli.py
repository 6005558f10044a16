"""The `civic` command: one entry point composing the opendata and twin command groups."""

from __future__ import annotations

import os
import sys
import traceback

import click

from api.serve import serve_cmd
from api.users_cli import users_group
from opendata.cli import COMMANDS as OPENDATA_COMMANDS
from opendata.settings import Settings
from twin.cli import twin as twin_group
from twin.errors import USER_ERRORS
from twin.jobs.worker import worker_command
from twin.scenarios.cli import compare_command, run_command
from twin.scenarios.sweeps import sweep_command
from twin.traffic.paths import THREAD_ENV


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
cli.add_command(users_group)
twin_group.add_command(run_command)
twin_group.add_command(compare_command)
twin_group.add_command(worker_command)
twin_group.add_command(sweep_command)
cli.add_command(twin_group)


def main(argv: list[str] | None = None) -> None:
    """Run the CLI: user errors print one line and exit 2; bugs exit 1 (traceback with --debug)."""
    args = sys.argv[1:] if argv is None else argv
    for key, value in THREAD_ENV.items():  # before the first parallel loop; users may override
        os.environ.setdefault(key, value)
    debug = "--debug" in args
    try:
        cli.main(args=args, prog_name="civic", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except USER_ERRORS as err:
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
