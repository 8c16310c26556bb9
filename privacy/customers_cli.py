"""`supportbot customers erase|export|jobs|audit`: a customer's erasure and access requests, the
privacy jobs on demand, and the audit trail. Results are one JSON object on stdout; erase and export
each write an audit event (who: `--actor`, else $USER)."""

from __future__ import annotations

import json

import click

SELECTORS = [
    click.option("--conversation", "conversation", default=None, metavar="ID", help="one conversation (Rasa sender id)"),
    click.option("--session", "session", default=None, metavar="TOKEN",
                 help="a widget session token (or session id): every conversation of that session"),
    click.option("--contact", "contact", default=None, metavar="EMAIL",
                 help="the contact address left in a conversation: every conversation of that customer"),
    click.option("--actor", default=None, help="who asks (recorded in the audit trail; default $USER)"),
]


def selectors(fn):
    for option in reversed(SELECTORS):
        fn = option(fn)
    return fn


def _stores():
    from core.settings import get_settings
    from privacy.subject import PrivacyStores

    stores = PrivacyStores.from_settings(get_settings())
    stores.db.migrate()
    return stores


def _subject(stores, conversation, session, contact):
    from privacy.subject import find_subject

    try:
        return find_subject(stores.db, conversation, session, contact)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from exc


def _actor(actor: str | None) -> str:
    from privacy.audit import default_actor

    return actor or default_actor()


@click.group()
def customers() -> None:
    """Customers' personal data: erasure, access requests (export), privacy jobs, audit trail."""


@customers.command("erase")
@selectors
def erase_cmd(conversation, session, contact, actor) -> None:
    """Erase one customer everywhere: turns, contact, sessions, feedback, Rasa tracker events, demo bank
    rows, imported log lines; models that learnt from them are flagged for retraining."""
    from privacy.erasure import erase

    stores = _stores()
    try:
        report = erase(stores, _subject(stores, conversation, session, contact), _actor(actor))
    finally:
        stores.close()
    click.echo(json.dumps(report, indent=2))
    if not report["found"]:
        raise click.ClickException("nothing is held for that customer (check the id, token or address); "
                                   "the request is recorded in the audit trail")
    if report["models_to_retrain"]:
        click.echo(f"{len(report['models_to_retrain'])} model(s) learnt from this customer: run `supportbot retrain` "
                   "(see `supportbot models list`)", err=True)


@customers.command("export")
@selectors
def export_cmd(conversation, session, contact, actor) -> None:
    """Print everything held about one customer as JSON (an access request)."""
    from privacy import audit
    from privacy.subject import subject_data

    stores = _stores()
    try:
        subject = _subject(stores, conversation, session, contact)
        data = subject_data(stores, subject)
        audit.record(stores.db, _actor(actor), "export", subject.target,
                     {"conversations": len(data["conversations"]), "sessions": len(data["sessions"]),
                      "rasa_tracker_events": len(data["rasa_tracker_events"]),
                      "imported_logs": len(data["imported_logs"]), "bank_records": len(data["bank_records"])})
    finally:
        stores.close()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False, default=str))


@customers.command("jobs")
def jobs_cmd() -> None:
    """Run the storage-policy redaction and the retention job once (the bot service also runs them)."""
    from core.settings import get_settings
    from privacy.jobs import PrivacyJobs

    settings = get_settings()
    jobs = PrivacyJobs(settings)
    jobs.stores.db.migrate()
    try:
        click.echo(json.dumps(jobs.run_once(), indent=2))
    finally:
        jobs.stores.close()


@customers.command("audit")
@click.option("--action", default=None, help="erase | export | reveal | redact | retention")
@click.option("--limit", default=50, show_default=True)
def audit_cmd(action, limit) -> None:
    """The most recent audit events, newest first."""
    from privacy import audit

    stores = _stores()
    try:
        click.echo(json.dumps(audit.recent(stores.db, action, limit), indent=2))
    finally:
        stores.close()
