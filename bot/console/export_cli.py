"""`supportbot export nlu|responses`: agents' corrections as training data (anonymised).

Both print a one-line JSON report on stderr; the data goes to --out or stdout.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click


def _db():
    from core.settings import get_settings
    from core.store.db import Database

    db = Database(get_settings().db_url)
    db.migrate()
    return db


def _since(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        d = dt.datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a date like 2026-01-31 (or 2026-01-31T12:00)", param_hint="--since") from None
    return (d if d.tzinfo else d.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _write(out: Path | None, write) -> None:
    """Write through a temporary file and rename, so a failed export never leaves half a file."""
    if out is None:
        write(sys.stdout)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        write(fh)
    tmp.replace(out)


@click.group()
def export() -> None:
    """Export agents' corrections as training data (personal data anonymised)."""


@export.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option("--since", help="Only corrections made on or after this date.")
def nlu(out: Path | None, since: str | None) -> None:
    """Intent and out-of-scope corrections as Rasa NLU YAML (e.g. --out data/nlu/corrections.yml)."""
    from bot.console.export import export_nlu

    text, report = export_nlu(_db(), _since(since))
    _write(out, lambda fh: fh.write(text))
    click.echo(json.dumps({"kind": "nlu", "out": str(out) if out else "-", **report}), err=True)


@export.command()
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Write here (default: stdout).")
@click.option("--since", help="Only corrections (or, with --all, conversations) from this date on.")
@click.option("--all", "everything", is_flag=True, help="Every conversation, not only corrected ones.")
def responses(out: Path | None, since: str | None, everything: bool) -> None:
    """Conversations with corrected replies as conversation-log JSONL (what `supportbot logs import` reads)."""
    from bot.console.export import export_responses, write_jsonl

    report: dict = {}
    records = export_responses(_db(), "all" if everything else "corrected", _since(since), report)
    _write(out, lambda fh: write_jsonl(records, fh))
    click.echo(json.dumps({"kind": "responses", "out": str(out) if out else "-", **report}), err=True)
