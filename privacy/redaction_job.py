"""The storage policy: closed conversations older than `pii_redact_after_days` become their redacted form.

A conversation qualifies when it is CLOSED, not yet redacted (`redacted_at` is null) and its last
activity is older than the cut-off; live conversations (bot, waiting, human) keep the raw text
agents need, whatever their age. For each one, in one pass with one set of pseudonyms (so a name
is the same placeholder in the store and in Rasa's tracker):

- turns' text (the full-text index follows: SQLite's FTS5 table `turns_fts` through its update
  trigger, PostgreSQL's GIN index on to_tsvector(text) by itself), the string values of their NLU
  entities, and agents' reply corrections;
- the conversation's contact field (an address becomes `[EMAIL]`);
- Rasa's tracker events of that sender: `text`, `parse_data.text`, entity values and string slot
  values.

Then `redacted_at` is set, so a conversation is redacted once. One audit event per run.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import or_, select

from core.store.models import Conversation, ConversationStatus, Correction, Turn
from privacy import audit
from privacy.subject import PrivacyStores

BATCH = 50


class ConversationRedactor:
    """Redacts the texts and values of ONE conversation with consistent placeholders."""

    def __init__(self, engine):
        from privacy.pseudonyms import Pseudonyms

        self.engine = engine
        self.pseudonyms = Pseudonyms()
        self.known: dict[str, str] = {}  # a redacted text or value -> what it became
        self.previous: str | None = None

    def text(self, value: str) -> str:
        if not value or not value.strip():
            return value
        if value in self.known:
            return self.known[value]
        red = self.engine.redact(value, pseudonyms=self.pseudonyms, previous=self.previous)
        for e in red.entities:
            raw = value[e.start:e.end]
            self.known.setdefault(raw, self.pseudonyms.placeholder(e.kind, raw))
        self.known[value] = red.text
        self.previous = value
        return red.text

    def value(self, value: Any) -> Any:
        """A slot or entity value: a known piece of personal data becomes its placeholder."""
        if not isinstance(value, str) or not value.strip():
            return value
        if value in self.known:
            return self.known[value]
        red = self.engine.redact(value, pseudonyms=self.pseudonyms)
        return red.text

    def entities(self, entities: list | None) -> list | None:
        if not entities:
            return entities
        return [{**e, "value": self.value(e.get("value"))} if isinstance(e, dict) and "value" in e else e
                for e in entities]

    def event(self, data: dict) -> dict | None:
        new = dict(data)
        if isinstance(new.get("text"), str):
            new["text"] = self.text(new["text"])
        parse = new.get("parse_data")
        if isinstance(parse, dict):
            parse = dict(parse)
            if isinstance(parse.get("text"), str):
                parse["text"] = self.text(parse["text"])
            parse["entities"] = self.entities(parse.get("entities"))
            new["parse_data"] = parse
        if new.get("event") == "slot":
            new["value"] = self.value(new.get("value"))
        return new if new != data else None


def due(stores: PrivacyStores, after_days: float, now: dt.datetime, limit: int | None = None) -> list[str]:
    cutoff = now - dt.timedelta(days=after_days)
    q = (select(Conversation.id).where(Conversation.status == ConversationStatus.CLOSED.value,
                                       Conversation.redacted_at.is_(None),
                                       or_(Conversation.last_activity_at < cutoff,
                                           Conversation.last_activity_at.is_(None)))
         .order_by(Conversation.last_activity_at))
    if limit:
        q = q.limit(limit)
    with stores.db.session() as s:
        return list(s.scalars(q))


def redact_conversation(stores: PrivacyStores, conversation_id: str, engine, now: dt.datetime) -> dict:
    red = ConversationRedactor(engine)
    changed = {"turns": 0, "rasa_tracker_events": 0}
    with stores.db.session() as s:
        conv = s.get(Conversation, conversation_id)
        turns = s.scalars(select(Turn).where(Turn.conversation_id == conversation_id).order_by(Turn.seq)).all()
        for t in turns:
            new = red.text(t.text or "")
            if new != t.text:
                t.text = new
                changed["turns"] += 1
            if t.entities:
                t.entities = red.entities(t.entities)
        ids = [t.id for t in turns]
        if ids:
            for c in s.scalars(select(Correction).where(Correction.turn_id.in_(ids), Correction.kind == "reply")):
                c.value = red.text(c.value)
        if conv.contact:
            conv.contact = red.value(conv.contact) if "@" not in conv.contact else "[EMAIL]"
        conv.redacted_at = now
    changed["rasa_tracker_events"] = stores.events.rewrite(conversation_id, red.event)
    return changed


def run(stores: PrivacyStores, after_days: float, engine=None, now: dt.datetime | None = None,
        actor: str = "system:storage-policy", limit: int | None = None) -> dict:
    """Redact every due conversation; returns counts (and writes one audit event when any was due)."""
    if after_days <= 0:
        return {"redacted_conversations": 0, "disabled": True}
    now = now or dt.datetime.now(dt.UTC)
    ids = due(stores, after_days, now, limit)
    if not ids:
        return {"redacted_conversations": 0, "turns": 0, "rasa_tracker_events": 0}
    if engine is None:
        from privacy import get_engine

        engine = get_engine()
    totals = {"redacted_conversations": 0, "turns": 0, "rasa_tracker_events": 0}
    for cid in ids:
        part = redact_conversation(stores, cid, engine, now)
        totals["redacted_conversations"] += 1
        totals["turns"] += part["turns"]
        totals["rasa_tracker_events"] += part["rasa_tracker_events"]
    audit.record(stores.db, actor, "redact", f"closed before {(now - dt.timedelta(days=after_days)).date()}",
                 {**totals, "conversation_ids": ids})
    return totals
