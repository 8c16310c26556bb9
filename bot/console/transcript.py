"""One conversation as the transcript page and its JSON API show it: turns with NLU details,
sources, candidates, model versions, feedback, and the corrections and reviews made on them."""

from __future__ import annotations

from sqlalchemy import select

from bot.console.errors import NotFound
from core.store.models import Conversation, Correction, Speaker, Turn, TurnReview, User


def load_transcript(db, conversation_id: str) -> dict:
    with db.session() as s:
        conv = s.get(Conversation, conversation_id)
        if conv is None:
            raise NotFound(f"No conversation {conversation_id!r}.")
        turns = s.scalars(select(Turn).where(Turn.conversation_id == conversation_id).order_by(Turn.seq)).all()
        ids = [t.id for t in turns]
        names = {u.id: u.display_name or u.username for u in s.scalars(select(User)).all()}
        corrections: dict[int, list[dict]] = {}
        for c in s.scalars(select(Correction).where(Correction.turn_id.in_(ids)).order_by(Correction.created_at)):
            corrections.setdefault(c.turn_id, []).append(
                {"id": c.id, "kind": c.kind, "value": c.value, "by": names.get(c.user_id, "?"), "at": c.created_at})
        reviewed = {r.turn_id: names.get(r.user_id, "?") for r in
                    s.scalars(select(TurnReview).where(TurnReview.turn_id.in_(ids)))}
        rows, last_customer = [], None
        for t in turns:
            row = turn_row(t)
            row["corrections"] = corrections.get(t.id, [])
            row["reviewed_by"] = reviewed.get(t.id)
            if t.speaker == Speaker.CUSTOMER.value:
                last_customer = row
            elif t.speaker == Speaker.BOT.value and last_customer is not None:
                row["in_reply_to"] = {"intent": last_customer["intent"], "confidence": last_customer["confidence"],
                                      "entities": last_customer["entities"]}
            rows.append(row)
        return {
            "conversation": {
                "id": conv.id, "channel": conv.channel, "status": conv.status, "outcome": conv.outcome,
                "csat": conv.csat, "started_at": conv.started_at, "ended_at": conv.ended_at,
                "assigned_agent": names.get(conv.assigned_agent_id) if conv.assigned_agent_id else None,
                "assigned_agent_id": conv.assigned_agent_id, "contact": conv.contact,
                "min_confidence": conv.min_confidence, "meta": conv.meta or {}, "language": conv.language,
            },
            "turns": rows,
        }


def turn_row(t: Turn) -> dict:
    return {
        "id": t.id, "seq": t.seq, "speaker": t.speaker, "text": t.text, "ts": t.created_at,
        "intent": t.intent, "confidence": t.confidence, "entities": t.entities or [],
        "action": t.action, "buttons": t.buttons or [], "sources": t.sources or [],
        "candidates": t.candidates or [], "model_versions": t.model_versions or {},
        "feedback": t.feedback, "answered": t.answered, "agent_name": t.agent_name,
        "answer_source": t.answer_source, "answer_template": t.answer_template, "rasa_text": t.rasa_text,
        "in_reply_to": None,
    }
