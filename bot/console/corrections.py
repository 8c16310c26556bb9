"""Agents' corrections (right intent, out-of-scope, right reply) and the admins' review queue.

A correction is stored with who and when and never overwrites an earlier one: the export takes
the newest per turn, and the history stays visible on the transcript. Correcting a turn also
signs it off, so it leaves the review queue.
"""

from __future__ import annotations

import re

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from bot.console.errors import BadRequest, NotFound
from core.store.models import Correction, Speaker, Turn, TurnReview

INTENT = re.compile(r"^[A-Za-z0-9_-]{1,128}$")  # a name Rasa accepts
KINDS = {"intent": Speaker.CUSTOMER.value, "out_of_scope": Speaker.CUSTOMER.value, "reply": Speaker.BOT.value}
FALLBACK_INTENT = "nlu_fallback"


def add_correction(db, turn_id: int, kind: str, value: str, user_id: int, max_chars: int = 4000) -> dict:
    if kind not in KINDS:
        raise BadRequest(f"Unknown correction {kind!r}; use intent, out_of_scope or reply.")
    value = (value or "").strip()
    if kind == "out_of_scope":
        value = "out_of_scope"
    elif kind == "intent" and not INTENT.match(value):
        raise BadRequest("Pick an intent name (letters, digits and _ only).")
    elif kind == "reply" and not value:
        raise BadRequest("Pick one of the candidates or write the reply the bot should have given.")
    if len(value) > max_chars:
        raise BadRequest(f"Replies are limited to {max_chars} characters.")
    with db.session() as s:
        turn = s.get(Turn, turn_id)
        if turn is None:
            raise NotFound(f"No turn {turn_id}.")
        if turn.speaker != KINDS[kind]:
            raise BadRequest(f"A {kind.replace('_', '-')} correction belongs on a {KINDS[kind]} turn.")
        c = Correction(turn_id=turn_id, kind=kind, value=value, user_id=user_id)
        s.add(c)
        s.flush()
        _mark_reviewed(s, turn_id, user_id)
        return {"id": c.id, "turn_id": turn_id, "conversation_id": turn.conversation_id, "kind": kind, "value": value}


def mark_reviewed(db, turn_id: int, user_id: int) -> str:
    """Sign off a turn (idempotent); returns its conversation id."""
    with db.session() as s:
        turn = s.get(Turn, turn_id)
        if turn is None:
            raise NotFound(f"No turn {turn_id}.")
        _mark_reviewed(s, turn_id, user_id)
        return turn.conversation_id


def _mark_reviewed(s, turn_id: int, user_id: int) -> None:
    if s.get(TurnReview, turn_id) is None:
        try:
            with s.begin_nested():
                s.add(TurnReview(turn_id=turn_id, user_id=user_id))
        except IntegrityError:  # another admin signed it off at the same moment
            pass


def review_queue(db, threshold: float, limit: int = 50) -> list[dict]:
    """Unreviewed customer turns the NLU was unsure about, newest first."""
    q = (select(Turn).outerjoin(TurnReview, TurnReview.turn_id == Turn.id)
         .where(Turn.speaker == Speaker.CUSTOMER.value, TurnReview.turn_id.is_(None),
                or_(Turn.confidence < threshold, Turn.intent == FALLBACK_INTENT))
         .order_by(Turn.created_at.desc(), Turn.id.desc()).limit(limit))
    with db.session() as s:
        return [{"id": t.id, "conversation_id": t.conversation_id, "text": t.text, "intent": t.intent,
                 "confidence": t.confidence, "ts": t.created_at} for t in s.scalars(q)]
