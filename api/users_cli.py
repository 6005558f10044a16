"""`civic users ...`: create users, issue and revoke API tokens, set passwords, list users.

A token is printed once, as the last line of the output; only its hash is stored."""

from __future__ import annotations

import sys

import click

from api.auth import accounts
from opendata.settings import Settings


def _url(ctx: click.Context) -> str:
    settings: Settings = ctx.obj["settings"]
    return settings.catalog_url


@click.group("users")
def users_group() -> None:
    """Accounts that may write: planners, publishers and admins."""


@users_group.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(accounts.ROLES), required=True, help="What they may do.")
@click.pass_context
def add_command(ctx: click.Context, name: str, role: str) -> None:
    """Create user NAME with ROLE and print a new API token (shown once)."""
    user = accounts.add_user(_url(ctx), name, role)
    token = accounts.issue_token(_url(ctx), user.name)
    click.echo(f"added {user.name} ({user.role}); API token (shown once, keep it secret):")
    click.echo(token)


@users_group.command("token")
@click.argument("name")
@click.pass_context
def token_command(ctx: click.Context, name: str) -> None:
    """Issue another API token for NAME (printed once, as the last line)."""
    token = accounts.issue_token(_url(ctx), name)
    click.echo(f"new API token for {name} (shown once, keep it secret):")
    click.echo(token)


@users_group.command("revoke")
@click.argument("name")
@click.pass_context
def revoke_command(ctx: click.Context, name: str) -> None:
    """Revoke every API token and browser session of NAME."""
    count = accounts.revoke(_url(ctx), name)
    click.echo(f"revoked {count} token(s) and session(s) of {name}")


@users_group.command("list")
@click.pass_context
def list_command(ctx: click.Context) -> None:
    """List users with their role (never a token or a password)."""
    for user in accounts.list_users(_url(ctx)):
        password = "password set" if user.has_password else "no password"
        click.echo(f"{user.name}\t{user.role}\t{password}\tsince {user.created_at}")


@users_group.command("passwd")
@click.argument("name")
@click.option(
    "--password-stdin", is_flag=True, help="Read the password from standard input (scripts)."
)
@click.pass_context
def passwd_command(ctx: click.Context, name: str, password_stdin: bool) -> None:
    """Set NAME's password for the browser sign-in (at least 12 characters)."""
    accounts.get_user(_url(ctx), name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = click.prompt("new password", hide_input=True, confirmation_prompt=True)
    accounts.set_password(_url(ctx), name, password)
    click.echo(f"password of {name} set")
