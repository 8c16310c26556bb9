"""Retention: conversations whose last activity is older than `retention_days` are deleted.

Deleted everywhere a conversation lives (privacy.erasure.purge_conversations: turns and the
full-text index, the conversation, Rasa's tracker events, demo bank rows), and sessions left
without a conversation and unused since the cut-off go too. `retention_days = 0` keeps everything.
Imported log archives are training data the owner imported on purpose and are not aged out here
(erasure removes a person's lines from them). One audit event per run that deleted anything.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from core.store.models import Conversation, CustomerSession
from privacy import audit
from privacy.erasure import purge_conversations
from privacy.subject import PrivacyStores


def expired(stores: PrivacyStores, retention_days: float, now: dt.datetime) -> tuple[list[str], list[str]]:
    cutoff = now - dt.timedelta(days=retention_days)
    with stores.db.session() as s:
        conversations = list(s.scalars(select(Conversation.id).where(Conversation.last_activity_at < cutoff)))
        sessions = list(s.scalars(select(CustomerSession.id).where(CustomerSession.last_seen_at < cutoff)))
    return conversations, sessions


def run(stores: PrivacyStores, retention_days: float, now: dt.datetime | None = None,
        actor: str = "system:retention") -> dict:
    if retention_days <= 0:
        return {"deleted_conversations": 0, "disabled": True}
    now = now or dt.datetime.now(dt.UTC)
    conversations, sessions = expired(stores, retention_days, now)
    if not conversations and not sessions:
        return {"deleted_conversations": 0}
    counts = purge_conversations(stores, conversations, sessions)
    if any(counts.values()):
        audit.record(stores.db, actor, "retention", f"older than {retention_days:g} days",
                     {**counts, "cutoff": (now - dt.timedelta(days=retention_days)).isoformat(timespec="seconds")})
    return {"deleted_conversations": counts["conversations"], **counts}
