"""Erasing one customer, and the purge of conversations that erasure and retention share.

`erase(stores, subject, actor)` removes, for the subject's conversations: their turns (with the
feedback on them and, through the database's cascades, corrections and reviews; the full-text
index follows: SQLite's FTS5 triggers, PostgreSQL's expression index), the conversations with their
contact fields, the sessions left without a conversation, Rasa's tracker events (by sender id),
the demo bank's rows (by customer id), and every imported log line of theirs. Models that learnt
from any of those conversations are flagged `needs_retrain` in the registry. One audit event
records who asked, when, and what went (counts and conversation ids, never the personal data).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import delete, select, text

from core.store.models import Conversation, CustomerSession, Turn
from privacy import audit
from privacy.subject import BANK_TABLE, PrivacyStores, Subject, _all_ids

CHUNK = 500


def purge_conversations(stores: PrivacyStores, conversation_ids: Iterable[str],
                        session_ids: Iterable[str] = ()) -> dict:
    """Delete these conversations everywhere the platform keeps them, and the given sessions once
    they hold no conversation. Returns counts per store."""
    ids = list(dict.fromkeys(conversation_ids))
    counts = {"conversations": 0, "turns": 0, "sessions": 0, "rasa_tracker_events": 0, "bank_records": 0}
    has_bank = stores.has_bank()
    with stores.db.session() as s:
        for chunk in _chunks(ids):
            counts["turns"] += s.execute(delete(Turn).where(Turn.conversation_id.in_(chunk))).rowcount
            counts["conversations"] += s.execute(delete(Conversation).where(Conversation.id.in_(chunk))).rowcount
            if has_bank:
                counts["bank_records"] += s.execute(
                    text(f"DELETE FROM {BANK_TABLE} WHERE customer_id IN ({_params(chunk)})"),
                    {f"p{i}": c for i, c in enumerate(chunk)}).rowcount
        for chunk in _chunks(list(dict.fromkeys(session_ids))):
            in_use = select(Conversation.session_id).where(Conversation.session_id.in_(chunk))
            counts["sessions"] += s.execute(delete(CustomerSession).where(
                CustomerSession.id.in_(chunk), CustomerSession.id.not_in(in_use))).rowcount
    counts["rasa_tracker_events"] = stores.events.delete(ids)
    return counts


def erase(stores: PrivacyStores, subject: Subject, actor: str) -> dict:
    """Erase the subject everywhere; returns the report (also in the audit event's detail)."""
    from finetune.archive import drop_lines
    from finetune.registry import Registry

    archive = drop_lines(stores.var_dir, subject.archive_match())
    ids = list(dict.fromkeys(_all_ids(subject) + archive["conversation_ids"]))
    counts = purge_conversations(stores, ids, subject.session_ids)
    counts["imported_log_lines"] = archive["lines"]
    when = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    flagged = Registry(stores.db).mark_for_retrain(
        ids, f"trained on {len(ids)} conversation(s) erased on {when} ({subject.target}); retrain without them")
    found = any(counts.values())
    detail = {"found": found, "removed": counts, "conversation_ids": ids,
              "models_to_retrain": [f"{m['kind']}:{m['version']}" for m in flagged]}
    event = audit.record(stores.db, actor, "erase", subject.target, detail)
    return {"erased": subject.target, "audit_id": event["id"], **detail}


def _chunks(ids: list[str]):
    for i in range(0, len(ids), CHUNK):
        yield ids[i:i + CHUNK]


def _params(chunk: list[str]) -> str:
    return ", ".join(f":p{i}" for i in range(len(chunk)))
