"""Tables of the conversation store, the console's accounts and corrections, and the model registry."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, Optional

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.store.base import Base, utcnow


class ConversationStatus(str, enum.Enum):
    BOT = "bot"
    WAITING = "waiting"  # waiting for a human
    HUMAN = "human"  # with a human agent
    CLOSED = "closed"


class Outcome(str, enum.Enum):
    ANSWERED = "answered"  # answered by the bot
    HANDED_OFF = "handed_off"
    FALLBACK = "fallback"
    ABANDONED = "abandoned"


class Speaker(str, enum.Enum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class CustomerSession(Base):
    """A widget or API customer; the bearer token itself is never stored, only its SHA-256."""

    __tablename__ = "customer_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    channel: Mapped[str] = mapped_column(String(32), default="widget")
    origin: Mapped[Optional[str]] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verified_user_id: Mapped[Optional[str]] = mapped_column(String(128))  # the host site's user, HMAC-verified


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (
        Index("ix_conversations_status_started", "status", "started_at"),
        Index("ix_conversations_started", "started_at"),
        Index("ix_conversations_outcome", "outcome"),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # also Rasa's sender id
    session_id: Mapped[str] = mapped_column(ForeignKey("customer_sessions.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32), default="widget")
    status: Mapped[str] = mapped_column(String(16), default=ConversationStatus.BOT.value)
    outcome: Mapped[Optional[str]] = mapped_column(String(16))
    csat: Mapped[Optional[int]] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[Optional[dt.datetime]] = mapped_column()
    last_activity_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    assigned_agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    min_confidence: Mapped[Optional[float]] = mapped_column(Float)  # lowest NLU confidence seen
    has_negative_feedback: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[Optional[str]] = mapped_column(String(255))  # left when no agent was online
    verified_user_id: Mapped[Optional[str]] = mapped_column(String(128))  # see CustomerSession
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    turns: Mapped[list["Turn"]] = relationship(
        back_populates="conversation", order_by="Turn.seq", cascade="all, delete-orphan"
    )


class Turn(Base):
    __tablename__ = "turns"
    __table_args__ = (
        UniqueConstraint("conversation_id", "seq", name="uq_turns_conversation_seq"),
        UniqueConstraint("conversation_id", "client_msg_id", name="uq_turns_conversation_client_msg"),
        Index("ix_turns_intent", "intent"),
        Index("ix_turns_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    speaker: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # customer turns
    client_msg_id: Mapped[Optional[str]] = mapped_column(String(64))  # de-duplicates offline resends
    rasa_text: Mapped[Optional[str]] = mapped_column(Text)  # what Rasa got, when not `text` (a button's payload)
    answered: Mapped[Optional[bool]] = mapped_column(Boolean)  # False: Rasa was down or slow
    intent: Mapped[Optional[str]] = mapped_column(String(128))
    confidence: Mapped[Optional[float]] = mapped_column(Float)
    entities: Mapped[Optional[list[Any]]] = mapped_column(JSON)
    # bot turns
    action: Mapped[Optional[str]] = mapped_column(String(128))
    buttons: Mapped[Optional[list[Any]]] = mapped_column(JSON)
    sources: Mapped[Optional[list[Any]]] = mapped_column(JSON)
    candidates: Mapped[Optional[list[Any]]] = mapped_column(JSON)
    model_versions: Mapped[Optional[dict[str, Any]]] = mapped_column(JSON)
    feedback: Mapped[Optional[int]] = mapped_column(Integer)  # +1 / -1 thumbs on a bot turn
    # agent turns
    agent_id: Mapped[Optional[int]] = mapped_column(ForeignKey("users.id"))
    agent_name: Mapped[Optional[str]] = mapped_column(String(128))

    conversation: Mapped[Conversation] = relationship(back_populates="turns")


class ApiKey(Base):
    """Server-to-server keys for POST /api/messages; only a hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[Optional[dt.datetime]] = mapped_column()


class User(Base):
    """Console accounts (role: agent or admin)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="agent")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[Optional[dt.datetime]] = mapped_column()


class Correction(Base):
    """An agent's fix of a turn: the right intent (or out-of-scope), or the right reply."""

    __tablename__ = "corrections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # intent | out_of_scope | reply
    value: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class RegisteredModel(Base):
    """Model registry: every trained model, its metrics and data fingerprint; one serving per kind."""

    __tablename__ = "registered_models"
    __table_args__ = (UniqueConstraint("kind", "version", name="uq_registered_models_kind_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32))  # e.g. "responses", "generator"
    version: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="candidate")  # candidate|serving|retired|rejected
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    data_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    promoted_at: Mapped[Optional[dt.datetime]] = mapped_column()


# --- console ----------------------------------------------------------------------------
# Indexes behind the console's conversation list filters (docs/benchmarks.md, "Console").
Index("ix_conversations_status_activity", Conversation.status, Conversation.last_activity_at)
Index("ix_conversations_min_confidence", Conversation.min_confidence)
Index("ix_conversations_negative", Conversation.has_negative_feedback, Conversation.started_at)
Index("ix_conversations_csat", Conversation.csat)
Index("ix_turns_intent_conversation", Turn.intent, Turn.conversation_id)
Index("ix_turns_speaker_confidence", Turn.speaker, Turn.confidence)
Index("ix_conversations_verified_user", Conversation.verified_user_id)  # migration 0300_hardening


class ConsoleSession(Base):
    """A logged-in console browser; the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "console_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    ip: Mapped[Optional[str]] = mapped_column(String(64))
    last_used_at: Mapped[Optional[dt.datetime]] = mapped_column()  # the console's idle timeout


class LoginAttempt(Base):
    """Every console login attempt: the audit trail and the input of the login rate limit."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_username_at", "username", "created_at"),
        Index("ix_login_attempts_ip_at", "ip", "created_at"),
        Index("ix_login_attempts_username_ip_at", "username", "ip", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(128))
    ip: Mapped[str] = mapped_column(String(64))
    ok: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class TurnReview(Base):
    """An admin's sign-off on a low-confidence turn; a turn without one is in the review queue."""

    __tablename__ = "turn_reviews"

    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
