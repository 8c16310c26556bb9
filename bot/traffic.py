"""Traffic that is not a customer's, marked so the console's analytics leave it out.

A conversation gets `conversations.excluded` set (once; the first reason stays) when its session was
rate-limited (`rate_limited`), sent frames the service refused as invalid (`invalid_frames`: not JSON,
no type, an unknown type, a frame far over the size limit), or came through an API key named in
`analytics_excluded_api_keys` (`load_generator`). Nothing is deleted: the conversations stay in the
list and their transcripts, and every analytics query (bot/console/listing.py `customer_traffic`)
skips them. Marking is one UPDATE, done at most once per connection and reason (the WebSocket) or per
new conversation (the API), so a fuzzing run costs no write per frame.
"""

from __future__ import annotations

from sqlalchemy import update

from bot.errors import InvalidRequest, RateLimited, ServiceError
from core.store.models import Conversation

RATE_LIMITED, INVALID_FRAMES, LOAD_GENERATOR = "rate_limited", "invalid_frames", "load_generator"
REASONS = (RATE_LIMITED, INVALID_FRAMES, LOAD_GENERATOR)


def reason_for(exc: BaseException) -> str | None:
    """Why a refused frame marks its session, or None (the error says nothing about who sent it)."""
    if isinstance(exc, RateLimited):
        return RATE_LIMITED
    if isinstance(exc, InvalidRequest) and isinstance(exc, ServiceError):
        return INVALID_FRAMES
    return None


def mark_session(db, session_id: str, reason: str) -> int:
    """Mark every conversation of the session not yet marked; returns how many."""
    with db.session() as s:
        return s.execute(update(Conversation).where(Conversation.session_id == session_id,
                                                    Conversation.excluded.is_(None))
                         .values(excluded=reason)).rowcount


def mark_conversation(db, conversation_id: str, reason: str) -> int:
    with db.session() as s:
        return s.execute(update(Conversation).where(Conversation.id == conversation_id,
                                                    Conversation.excluded.is_(None))
                         .values(excluded=reason)).rowcount
