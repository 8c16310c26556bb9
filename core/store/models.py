"""Tables of the conversation store, the console's accounts and corrections, and the model registry."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

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
    origin: Mapped[str | None] = mapped_column(String(255))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    verified_user_id: Mapped[str | None] = mapped_column(String(128))  # the host site's user, HMAC-verified


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
    outcome: Mapped[str | None] = mapped_column(String(16))
    csat: Mapped[int | None] = mapped_column(Integer)
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column()
    last_activity_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    min_confidence: Mapped[float | None] = mapped_column(Float)  # lowest NLU confidence seen
    has_negative_feedback: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str | None] = mapped_column(String(255))  # left when no agent was online
    verified_user_id: Mapped[str | None] = mapped_column(String(128))  # see CustomerSession
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    redacted_at: Mapped[dt.datetime | None] = mapped_column()  # storage policy rewrote it (privacy/)
    # not customer traffic (rate_limited | invalid_frames | load_generator): kept out of the analytics
    excluded: Mapped[str | None] = mapped_column(String(32))
    # the customer's language: the most frequent of their messages' languages (ties keep the earlier one)
    language: Mapped[str | None] = mapped_column(String(8), index=True)

    turns: Mapped[list[Turn]] = relationship(
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
    client_msg_id: Mapped[str | None] = mapped_column(String(64))  # de-duplicates offline resends
    rasa_text: Mapped[str | None] = mapped_column(Text)  # what Rasa got, when not `text` (a button's payload)
    language: Mapped[str | None] = mapped_column(String(8))  # a customer message's detected language
    answered: Mapped[bool | None] = mapped_column(Boolean)  # False: Rasa was down or slow
    intent: Mapped[str | None] = mapped_column(String(128))
    confidence: Mapped[float | None] = mapped_column(Float)
    entities: Mapped[list[Any] | None] = mapped_column(JSON)
    # bot turns
    action: Mapped[str | None] = mapped_column(String(128))
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)
    sources: Mapped[list[Any] | None] = mapped_column(JSON)
    candidates: Mapped[list[Any] | None] = mapped_column(JSON)
    model_versions: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # bot turn: the secret its question asks for; customer turn: the secret its (masked) text stands for
    secret_input: Mapped[str | None] = mapped_column(String(32))
    feedback: Mapped[int | None] = mapped_column(Integer)  # +1 / -1 thumbs on a bot turn
    answer_source: Mapped[str | None] = mapped_column(String(16))  # rule|kb|learnt|fallback|agent (0500)
    answer_template: Mapped[str | None] = mapped_column(Text)  # a learnt reply's template
    # agent turns
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    agent_name: Mapped[str | None] = mapped_column(String(128))

    conversation: Mapped[Conversation] = relationship(back_populates="turns")


class ApiKey(Base):
    """Server-to-server keys for POST /api/messages; only a hash is stored."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(128))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column()


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
    last_seen_at: Mapped[dt.datetime | None] = mapped_column()


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
    promoted_at: Mapped[dt.datetime | None] = mapped_column()
    # an erased customer's conversation was in its training data: retrain without it (privacy/erasure.py)
    needs_retrain: Mapped[bool] = mapped_column(Boolean, default=False)
    retrain_reason: Mapped[str] = mapped_column(Text, default="")


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
    ip: Mapped[str | None] = mapped_column(String(64))
    last_used_at: Mapped[dt.datetime | None] = mapped_column()  # the console's idle timeout


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


# --- privacy (privacy/: erasure, retention, storage policy, console reveals) --------------------
class ModelTrainingConversation(Base):
    """Which conversations a registered model learnt from, so erasing a customer can flag it."""

    __tablename__ = "model_training_conversations"

    model_id: Mapped[int] = mapped_column(ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(128), primary_key=True, index=True)


class AuditEvent(Base):
    """Who did what to personal data, when: erasures, access exports, console reveals, policy jobs.

    `target` names what was touched without repeating the personal data (an e-mail is stored as a
    hash); `detail` holds counts and ids."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action_at", "action", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))  # erase | export | reveal | redact | retention
    target: Mapped[str] = mapped_column(String(255), default="")
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


# --- agent assist ------------------------------------------------------------------------------
class AssistSuggestion(Base):
    """One reply suggestion shown to an agent in the console, and what became of it: `outcome` is
    empty while it is on screen, then accepted (sent unchanged), edited (`final_text` is what was
    sent) or ignored (another reply was sent, or a new customer message replaced the panel).
    `turn_id` is the agent turn that was sent with it; `batch` groups one panel refresh."""

    __tablename__ = "assist_suggestions"
    __table_args__ = (Index("ix_assist_suggestions_conversation", "conversation_id", "shown_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    batch: Mapped[str] = mapped_column(String(32), index=True)
    rank: Mapped[int] = mapped_column(Integer)  # 1-based position in the panel
    template: Mapped[str] = mapped_column(Text, default="")  # the reply as the model's bank holds it
    text: Mapped[str] = mapped_column(Text, default="")  # as shown: placeholders with a slot value filled
    score: Mapped[float | None] = mapped_column(Float)
    model_version: Mapped[str | None] = mapped_column(String(64))
    shown_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    outcome: Mapped[str | None] = mapped_column(String(16))  # accepted | edited | ignored
    final_text: Mapped[str | None] = mapped_column(Text)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id", ondelete="SET NULL"), index=True)
    resolved_at: Mapped[dt.datetime | None] = mapped_column()
