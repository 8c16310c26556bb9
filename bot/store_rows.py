"""The plain dicts the conversation store returns: a stored turn, a conversation, a customer session.

Role: one place for the shapes the channel, the console and the hub read (bot.conversations returns them;
a turn's first keys match bot.handoff.turn_event so hub events look alike). Invariant: a turn's dict is the
same whether it comes from an ORM row, a Core row or the values just inserted.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from core.store.models import Conversation, CustomerSession, Turn

TURN_FIELDS = ("client_msg_id", "rasa_text", "language", "answered", "intent", "confidence", "entities", "action",
               "buttons", "sources", "candidates", "model_versions", "feedback", "agent_id", "agent_name", "answer_source",
               "answer_template", "secret_input")
TURN_COLUMNS = ("id", "seq", "speaker", "text", "created_at", "conversation_id", *TURN_FIELDS)


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


def turn_row_dict(row: Any) -> dict:
    """A stored turn from a mapping of the turns table's columns (a Core row, or the values just inserted);
    the first keys match bot.handoff.turn_event so hub events look alike."""
    out = {"turn_id": row["id"], "seq": row["seq"], "speaker": row["speaker"], "text": row["text"],
           "ts": _iso(row["created_at"]), "conversation_id": row["conversation_id"]}
    out.update({k: row.get(k) for k in TURN_FIELDS})
    return out


def turn_dict(t: Turn) -> dict:
    """The same for an ORM turn."""
    return turn_row_dict({c: getattr(t, c) for c in TURN_COLUMNS})


def conversation_dict(c: Conversation) -> dict:
    return {"conversation_id": c.id, "session_id": c.session_id, "channel": c.channel, "status": c.status,
            "outcome": c.outcome, "csat": c.csat, "started_at": _iso(c.started_at), "ended_at": _iso(c.ended_at),
            "min_confidence": c.min_confidence, "has_negative_feedback": c.has_negative_feedback,
            "verified_user_id": c.verified_user_id, "language": c.language}


def session_dict(s: CustomerSession) -> dict:
    return {"session_id": s.id, "channel": s.channel, "origin": s.origin, "created_at": _iso(s.created_at)}
