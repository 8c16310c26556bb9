"""`supportbot apikey create|list|revoke`: keys for the server-to-server `POST /api/messages`."""

from __future__ import annotations

import json

import click


def _keys():
    from bot.apikeys import ApiKeys
    from core.settings import get_settings
    from core.store.db import Database

    db = Database(get_settings().db_url)
    db.migrate()
    return ApiKeys(db)


@click.group()
def apikey() -> None:
    """Issue, list and revoke API keys (only a hash of each key is stored)."""


@apikey.command()
@click.option("--name", required=True, help="Who uses the key, e.g. crm-integration (shown by `list`).")
def create(name: str) -> None:
    """Create a key and print it once as JSON; store it in the caller's secret store right away."""
    try:
        key, record = _keys().create(name)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps({**record, "key": key}))
    click.echo("Send it as `Authorization: Bearer <key>`; it cannot be shown again.", err=True)


@apikey.command(name="list")
def list_keys() -> None:
    """Print every key (id, name, prefix, created, revoked) as JSON; never the keys themselves."""
    click.echo(json.dumps(_keys().list(), indent=2))


@apikey.command()
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke the key with this id or prefix; requests with it fail with 401 from now on."""
    from bot.errors import NotFound

    try:
        click.echo(json.dumps(_keys().revoke(key_id)))
    except NotFound as exc:
        raise click.ClickException(str(exc)) from exc
