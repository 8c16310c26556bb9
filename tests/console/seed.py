"""Conversations written the way the channel writes them (bot.conversations.ConversationStore), for tests."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid

from sqlalchemy import update

from core.store.models import Conversation, Turn


def run(services, coro):
    """`asyncio.run(coro)`, then close the Rasa client's session of that loop: each asyncio.run is a new
    loop, and the client keeps one session per loop (handoff calls pause and resume Rasa's tracker)."""

    async def main():
        try:
            return await coro
        finally:
            await services.rasa.aclose()

    return asyncio.run(main())


def conversation(store, exchanges: list[dict], csat: int | None = None, started: dt.datetime | None = None,
                 token: str | None = None) -> dict:
    """One conversation of (customer text -> bot reply) exchanges; returns ids and the session.

    Each exchange: {"text", "language"? (the detected one), "intent"?, "confidence"?, "entities"?, "reply"?, "action"?, "sources"?,
    "candidates"?, "model_versions"?, "feedback"? (+1/-1), "answered"? (False: Rasa was down)}.
    """
    token = token or uuid.uuid4().hex
    session = store.create_session(hashlib.sha256(token.encode()).hexdigest())
    conv_id, customer_ids, bot_ids = None, [], []
    for ex in exchanges:
        turn = store.append_customer_turn(session["session_id"], "widget", ex["text"], uuid.uuid4().hex,
                                          language=ex.get("language"))
        conv_id = turn["conversation_id"]
        customer_ids.append(turn["turn_id"])
        if ex.get("answered") is False:
            store.record_unanswered(conv_id, turn["turn_id"], "Sorry, our assistant is unavailable.", "rasa_unavailable")
            bot_ids.append(None)
            continue
        reply = {k: ex.get(k) for k in ("sources", "candidates", "model_versions")}
        nlu = {"intent": ex.get("intent"), "confidence": ex.get("confidence"),
               "entities": ex.get("entities") or [], "actions": [ex.get("action", "utter_x")]}
        stored = store.record_replies(conv_id, turn["turn_id"], [{"text": ex.get("reply", "OK."), **reply}], nlu)
        bot_ids.append(stored[0]["turn_id"])
        if ex.get("feedback"):
            store.set_feedback(session["session_id"], stored[0]["turn_id"], ex["feedback"])
    if csat is not None:
        store.set_csat(session["session_id"], conv_id, csat)
    if started is not None:
        backdate(store.db, conv_id, started)
    return {"id": conv_id, "session": session, "token": token, "customer": customer_ids, "bot": bot_ids}


def backdate(db, conv_id: str, started: dt.datetime) -> None:
    """Move a conversation (and its turns) to another time, as if it had happened then."""
    with db.session() as s:
        s.execute(update(Conversation).where(Conversation.id == conv_id)
                  .values(started_at=started, last_activity_at=started))
        s.execute(update(Turn).where(Turn.conversation_id == conv_id).values(created_at=started))
