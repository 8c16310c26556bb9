"""`supportbot users add|passwd|disable|enable|list`: console accounts from a shell.

Passwords are prompted for (hidden, typed twice) or read from stdin with --password-stdin, so
they never appear in the process list or shell history.
"""

from __future__ import annotations

import sys

import click


def _accounts():
    from bot.console.accounts import Accounts
    from core.settings import get_settings
    from core.store.db import Database

    db = Database(get_settings().db_url)
    db.migrate()
    return Accounts(db)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _run(fn, *args) -> None:
    from bot.console.accounts import AccountError
    from bot.console.passwords import WeakPassword

    try:
        fn(*args)
    except (AccountError, WeakPassword) as exc:
        raise click.ClickException(str(exc)) from None


@click.group()
def users() -> None:
    """Console accounts (roles: agent, admin)."""


@users.command()
@click.argument("username")
@click.option("--role", type=click.Choice(["agent", "admin"]), default="agent", show_default=True)
@click.option("--name", "display_name", default="", help="Name customers see when this agent joins a chat.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def add(username: str, role: str, display_name: str, password_stdin: bool) -> None:
    """Create an account."""
    accounts = _accounts()
    _run(accounts.add, username, _password(password_stdin), role, display_name)
    click.echo(f"added {role} {username}", err=True)


@users.command()
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def passwd(username: str, password_stdin: bool) -> None:
    """Set a new password (logs the account out everywhere)."""
    accounts = _accounts()
    _run(accounts.set_password, username, _password(password_stdin))
    click.echo(f"password changed for {username}; its sessions were ended", err=True)


@users.command()
@click.argument("username")
def disable(username: str) -> None:
    """Disable an account and end its sessions."""
    _run(_accounts().set_disabled, username, True)
    click.echo(f"disabled {username}", err=True)


@users.command()
@click.argument("username")
def enable(username: str) -> None:
    """Re-enable a disabled account."""
    _run(_accounts().set_disabled, username, False)
    click.echo(f"enabled {username}", err=True)


@users.command("list")
def list_users() -> None:
    """Show the accounts (one JSON object per line)."""
    import json

    for u in _accounts().list():
        click.echo(json.dumps(u, default=str))
