"""Whose data: one customer ("data subject") found by a conversation id, a session token or the
contact e-mail they left, and everything the platform holds about them.

The rule that ties records to a person: a widget session is one person, so a session token or a
contact address selects every conversation of the sessions involved; a conversation id selects that
conversation only (its session goes with it once it holds no other conversation). Conversation
ids are also Rasa's sender ids and the demo bank's customer ids, and the ids of imported logs; an
imported log line is also selected when it contains the contact address.

`PrivacyStores` names the stores a subject's data lives in, built from the typed settings.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, inspect, select, text

from core.store.models import Conversation, CustomerSession, Turn
from privacy.audit import fingerprint
from privacy.rasa_events import RasaEvents

BANK_TABLE = "bank_card_blocks"  # actions/bank.py's demo backend, in the platform's database


class SubjectNotFound(LookupError):
    pass


@dataclass
class PrivacyStores:
    db: object  # core.store.db.Database
    events: RasaEvents
    var_dir: Path

    @classmethod
    def from_settings(cls, settings, db=None) -> PrivacyStores:
        from core.store.db import Database

        return cls(db or Database(settings.db_url), RasaEvents(settings.tracker_db_url), Path(settings.var_dir))

    def has_bank(self) -> bool:
        return inspect(self.db.engine).has_table(BANK_TABLE)

    def close(self) -> None:
        self.events.dispose()
        self.db.dispose()


@dataclass
class Subject:
    selector: str  # conversation | session | contact
    value: str
    conversation_ids: list[str] = field(default_factory=list)  # in the store
    session_ids: list[str] = field(default_factory=list)
    contact: str | None = None

    @property
    def target(self) -> str:
        """What the audit trail records: a conversation id as is, a token or address as a hash."""
        return f"conversation:{self.value}" if self.selector == "conversation" else \
            f"{self.selector}:{fingerprint(self.value)}"

    def archive_match(self):
        ids, contact = set(self.conversation_ids), (self.contact or "").lower()
        if self.selector == "conversation":
            ids.add(self.value)
        return lambda conv, raw: str(conv.get("conversation_id")) in ids or bool(contact and contact in raw.lower())


def find_subject(db, conversation: str | None = None, session: str | None = None,
                 contact: str | None = None) -> Subject:
    given = [(k, v) for k, v in (("conversation", conversation), ("session", session), ("contact", contact)) if v]
    if len(given) != 1:
        raise ValueError("name exactly one of --conversation ID, --session TOKEN or --contact EMAIL")
    selector, value = given[0]
    value = value.strip()
    with db.session() as s:
        if selector == "conversation":
            conv = s.get(Conversation, value)
            convs = [conv] if conv is not None else []
            sessions = [conv.session_id] if conv is not None else []
            address = conv.contact if conv is not None else None
        else:
            if selector == "session":
                token_hash = hashlib.sha256(value.encode("utf-8")).hexdigest()
                sessions = list(s.scalars(select(CustomerSession.id).where(
                    (CustomerSession.token_hash == token_hash) | (CustomerSession.id == value))))
                address = None
            else:
                sessions = list(s.scalars(select(Conversation.session_id).where(
                    func.lower(Conversation.contact) == value.lower()).distinct()))
                address = value
            convs = list(s.scalars(select(Conversation).where(Conversation.session_id.in_(sessions)))) \
                if sessions else []
            if address is None:
                address = next((c.contact for c in convs if c.contact), None)
        return Subject(selector, value, [c.id for c in convs], sessions, address)


def subject_data(stores: PrivacyStores, subject: Subject) -> dict:
    """Everything held about the subject, as JSON-ready data (the access request's answer)."""
    from finetune.archive import matching_lines

    db = stores.db
    with db.session() as s:
        sessions = [{"id": x.id, "channel": x.channel, "origin": x.origin, "created_at": _iso(x.created_at),
                     "last_seen_at": _iso(x.last_seen_at)}
                    for x in s.scalars(select(CustomerSession).where(CustomerSession.id.in_(subject.session_ids)))]
        conversations = []
        for c in s.scalars(select(Conversation).where(Conversation.id.in_(subject.conversation_ids))
                           .order_by(Conversation.started_at)):
            turns = s.scalars(select(Turn).where(Turn.conversation_id == c.id).order_by(Turn.seq)).all()
            conversations.append({
                "id": c.id, "session_id": c.session_id, "channel": c.channel, "status": c.status,
                "outcome": c.outcome, "csat": c.csat, "contact": c.contact, "started_at": _iso(c.started_at),
                "ended_at": _iso(c.ended_at), "redacted_at": _iso(c.redacted_at),
                "turns": [{"seq": t.seq, "speaker": t.speaker, "text": t.text, "at": _iso(t.created_at),
                           "intent": t.intent, "entities": t.entities or [], "feedback": t.feedback}
                          for t in turns]})
    ids = _all_ids(subject)
    bank = []
    if stores.has_bank():
        with db.engine.connect() as conn:
            for cid in ids:
                bank += [dict(r._mapping) for r in conn.execute(
                    text(f"SELECT reference, customer_id, card_last4, reason, status, channel, created_at "
                         f"FROM {BANK_TABLE} WHERE customer_id = :c"), {"c": cid})]
    archive = matching_lines(stores.var_dir, subject.archive_match())
    tracker = stores.events.events(ids + [a["conversation_id"] for a in archive])
    return {"subject": {"selector": subject.selector, "conversation_ids": subject.conversation_ids,
                        "session_ids": subject.session_ids, "contact": subject.contact},
            "sessions": sessions, "conversations": conversations,
            "rasa_tracker_events": tracker, "bank_records": [_jsonable(b) for b in bank],
            "imported_logs": archive}


def _all_ids(subject: Subject) -> list[str]:
    ids = list(subject.conversation_ids)
    if subject.selector == "conversation" and subject.value not in ids:
        ids.append(subject.value)
    return ids


def _iso(d) -> str | None:
    return d.isoformat() if d is not None else None


def _jsonable(row: dict) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()}
