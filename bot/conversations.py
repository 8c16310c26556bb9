"""The conversation store's repository: customer sessions, conversations and their turns.

Every method is one unit of work that is committed before it returns, so whatever the caller
sends to a customer afterwards is already durable. A database that is briefly unreachable (a
restart, a failover, a locked SQLite file) is retried for `retry_s` seconds; after that the call
raises `StoreUnavailable`, which the channel reports to the customer instead of dropping anything.
Methods are synchronous (the console and the CLI use them directly); the async bot service calls
them in worker threads. Results are plain dicts.

A customer message that answers a question of the bot's marked `secret_input` (the step-up's one-time
code, actions/block_card.py) is stored as the placeholder `[KIND]` (`secret_placeholder`), never as
typed, and without `rasa_text`; the caller gives Rasa the text itself.

The two writes on every customer message's path (`append_customer_turn`, `record_replies`) run
prebuilt Core statements (core/store/statements.py) on one connection rather than ORM units of work:
the same rows and the same locking, for a third of the CPU (docs/benchmarks.md "Customer channel").
"""

from __future__ import annotations

import datetime as dt
import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import Connection, select
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from bot.answer_source import FALLBACK, answer_source, template_of
from bot.errors import NotFound, StoreUnavailable
from bot.store_rows import conversation_dict, session_dict, turn_dict, turn_row_dict
from core.store import statements as q
from core.store.base import utcnow
from core.store.models import Conversation, ConversationStatus, CustomerSession, Outcome, Speaker, Turn

log = logging.getLogger(__name__)
T = TypeVar("T")


def secret_placeholder(kind: str) -> str:
    """What the transcript holds instead of the answer to a secret question (Rasa's tracker holds the same)."""
    return f"[{kind.upper()}]"


def majority_language(counts: list[tuple[str, int, int]]) -> str | None:
    """The most frequent language among (language, messages, first seq); a tie goes to the earlier one."""
    if not counts:
        return None
    return min(counts, key=lambda row: (-row[1], row[2]))[0]


class ConversationStore:
    def __init__(self, db, retry_s: float = 3.0):
        self.db = db
        self.retry_s = retry_s

    # --- the retry loop every method runs in ---------------------------------------------------
    def _run(self, work: Callable[[Session], T]) -> T:
        return self._retrying(self.db.session, work)

    def _run_core(self, work: Callable[[Connection], T]) -> T:
        """The same, on a bare connection in one transaction (the hot path's Core statements)."""
        return self._retrying(self.db.writer, work)

    def _retrying(self, unit: Callable[[], Any], work: Callable[[Any], T]) -> T:
        deadline = time.monotonic() + self.retry_s
        delay, conflicts = 0.05, 0
        while True:
            try:
                with unit() as s:
                    return work(s)
            except IntegrityError:
                # a writer that does not lock (e.g. another service) took the same seq, or the same
                # client_msg_id arrived twice at once: re-run against the new state
                conflicts += 1
                if conflicts > 20:
                    raise
                time.sleep(random.uniform(0.0, 0.02 * conflicts))
            except (OperationalError, InterfaceError) as exc:
                if time.monotonic() + delay > deadline:
                    log.error("store unavailable after %.1fs: %s", self.retry_s, exc)
                    raise StoreUnavailable(
                        "We could not save your message just now (our database is unavailable). "
                        "It has not been lost on your side; it will be sent again automatically."
                    ) from exc
                time.sleep(delay)
                delay = min(delay * 2, 0.5)

    # --- sessions ----------------------------------------------------------------------------
    def create_session(self, token_hash: str, channel: str = "widget", origin: str | None = None,
                       session_id: str | None = None) -> dict:
        def work(s: Session) -> dict:
            row = CustomerSession(id=session_id or uuid.uuid4().hex, token_hash=token_hash, channel=channel,
                                  origin=(origin or None) and origin[:255])
            s.add(row)
            s.flush()
            return session_dict(row)

        return self._run(work)

    def session_by_token_hash(self, token_hash: str, idle_days: float | None = None) -> dict | None:
        """The session holding this token hash (and marks it seen), or None — also when it has not been
        seen for more than `idle_days` (its conversations stay stored; the customer starts afresh)."""

        def work(s: Session) -> dict | None:
            row = s.execute(select(CustomerSession).where(CustomerSession.token_hash == token_hash)).scalar_one_or_none()
            if row is None:
                return None
            now = utcnow()
            if idle_days and idle_days > 0:
                seen = row.last_seen_at if row.last_seen_at.tzinfo else row.last_seen_at.replace(tzinfo=dt.UTC)
                if now - seen > dt.timedelta(days=idle_days):
                    return None
            row.last_seen_at = now
            return session_dict(row)

        return self._run(work)

    # --- conversations -----------------------------------------------------------------------
    def current_conversation(self, session_id: str, channel: str = "widget") -> dict:
        """The session's open conversation, or a new one when it has none (or the last is closed)."""

        return self._run(lambda s: conversation_dict(self._open_conversation(s, session_id, channel)))

    @staticmethod
    def _open_conversation(s: Session, session_id: str, channel: str) -> Conversation:
        conv = s.execute(
            select(Conversation).where(Conversation.session_id == session_id,
                                       Conversation.status != ConversationStatus.CLOSED.value)
            .order_by(Conversation.started_at.desc()).limit(1).with_for_update()
        ).scalar_one_or_none()
        if conv is None:
            conv = Conversation(id=uuid.uuid4().hex, session_id=session_id, channel=channel, meta={})
            s.add(conv)
            s.flush()
        return conv

    def get_conversation(self, conversation_id: str) -> dict | None:
        return self._run(lambda s: (c := s.get(Conversation, conversation_id)) and conversation_dict(c))

    def _owned(self, s: Session, session_id: str, conversation_id: str) -> Conversation:
        conv = s.get(Conversation, conversation_id, populate_existing=True)
        if conv is None or conv.session_id != session_id:
            raise NotFound("This conversation does not exist or does not belong to your session.")
        return conv

    def close(self, session_id: str, conversation_id: str) -> dict:
        """The customer ends the conversation; the next message starts a new one."""

        def work(s: Session) -> dict:
            conv = self._owned(s, session_id, conversation_id)
            if conv.status != ConversationStatus.CLOSED.value:
                conv.status = ConversationStatus.CLOSED.value
                conv.ended_at = conv.last_activity_at = utcnow()
                conv.outcome = conv.outcome or Outcome.ABANDONED.value
            return conversation_dict(conv)

        return self._run(work)

    def set_status(self, conversation_id: str, status: str, outcome: str | None = None) -> dict:
        """Move a conversation to bot / waiting / human / closed (the handoff queue owns the usual moves)."""
        allowed = {s.value for s in ConversationStatus}
        if status not in allowed:
            raise ValueError(f"status must be one of {sorted(allowed)}, not {status!r}")

        def work(s: Session) -> dict:
            conv = s.get(Conversation, conversation_id, populate_existing=True)
            if conv is None:
                raise NotFound(f"No conversation {conversation_id!r}.")
            conv.status = status
            conv.outcome = outcome or conv.outcome
            conv.last_activity_at = utcnow()
            if status == ConversationStatus.CLOSED.value and conv.ended_at is None:
                conv.ended_at = conv.last_activity_at
            return conversation_dict(conv)

        return self._run(work)

    def set_csat(self, session_id: str, conversation_id: str, score: int) -> dict:
        def work(s: Session) -> dict:
            conv = self._owned(s, session_id, conversation_id)
            conv.csat = score
            return conversation_dict(conv)

        return self._run(work)

    # --- turns -------------------------------------------------------------------------------
    @staticmethod
    def _append_rows(c: Connection, conv_id: str, rows: list[dict], touch: Any = q.TOUCH_CONVERSATION,
                     **params: Any) -> list[dict]:
        """Insert turns (dicts of Turn fields) with the next seqs of the conversation.

        `touch` (with `params`, SET columns or its own `b_*` values) updates the conversation's row
        first, which takes its lock (PostgreSQL: the row; SQLite: the database), so no other writer can
        take the same seq between our read of max(seq) and our insert. Raises NotFound when the
        conversation does not exist.
        """
        now = utcnow()
        if c.execute(touch, {"b_conversation": conv_id, "last_activity_at": now, **params}).rowcount == 0:
            raise NotFound(f"No conversation {conv_id!r}.")
        seq = c.execute(q.NEXT_SEQ, {"b_conversation": conv_id}).scalar_one()
        out = []
        for i, row in enumerate(rows):
            values = {"conversation_id": conv_id, "seq": seq + i, "created_at": now, "text": "", **row}
            values["id"] = c.execute(q.NEW_TURN, values).inserted_primary_key[0]
            out.append(turn_row_dict(values))
        return out

    def append_customer_turn(self, session_id: str, channel: str, text: str, client_msg_id: str | None,
                             rasa_text: str | None = None, verified_user_id: str | None = None,
                             language: str | None = None) -> dict:
        """Store a customer message in the session's open conversation (a new one if none is open).

        A resend (same client_msg_id in any conversation of the session) returns the stored turn with
        "duplicate": True instead of storing it twice. The result carries the conversation's
        `status`, read in the same transaction: it decides whether the message goes to Rasa (bot) or
        waits for a person (waiting/human). `rasa_text` is what Rasa is given when it is not `text`;
        `verified_user_id` links a new conversation to the session's verified identity. `language` is the
        message's detected language (None: too short to tell); the conversation's language becomes the
        majority of its messages' (`conversation_language` in the result; None when this message told nothing).
        """

        def work(c: Connection) -> dict:
            if client_msg_id:
                old = c.execute(q.RESENT_TURN, {"b_session": session_id, "b_client_msg_id": client_msg_id}
                                ).mappings().first()
                if old is not None:
                    return {**turn_row_dict(old), "duplicate": True, "status": old["conversation_status"]}
            found = c.execute(q.OPEN_CONVERSATION, {"b_session": session_id}).first()
            if found is None:
                conv_id, status, now = uuid.uuid4().hex, ConversationStatus.BOT.value, utcnow()
                c.execute(q.NEW_CONVERSATION, {"id": conv_id, "session_id": session_id, "channel": channel,
                                               "meta": {}, "status": status, "started_at": now,
                                               "last_activity_at": now, "has_negative_feedback": False,
                                               "verified_user_id": verified_user_id})
            else:
                conv_id, status = found
            row = {"speaker": Speaker.CUSTOMER.value, "text": text, "client_msg_id": client_msg_id,
                   "rasa_text": rasa_text, "language": language}
            if found is not None and (secret := self._secret_asked(c, conv_id)):
                # a one-time code says nothing of the customer's language
                row.update(text=secret_placeholder(secret), rasa_text=None, secret_input=secret, language=None)
            [turn] = self._append_rows(c, conv_id, [row])
            conversation_language = None if row["language"] is None else majority_language(
                [(language, n, first) for speaker, language, n, first
                 in c.execute(q.LANGUAGE_COUNTS, {"b_conversation": conv_id})
                 if speaker == Speaker.CUSTOMER.value and language is not None])
            if conversation_language is not None:
                c.execute(q.SET_LANGUAGE, {"b_conversation": conv_id, "b_language": conversation_language})
            return {**turn, "duplicate": False, "status": status, "conversation_language": conversation_language}

        return self._run_core(work)

    @staticmethod
    def _secret_asked(c: Connection, conv_id: str) -> str | None:
        """The secret the bot's turns since the last customer turn ask for, if any."""
        for speaker, secret in c.execute(q.LATEST_TURNS, {"b_conversation": conv_id}):
            if speaker == Speaker.CUSTOMER.value:
                return None
            if secret:
                return secret
        return None

    def append_turn(self, conversation_id: str, speaker: str, text: str, **fields: Any) -> dict:
        """Store one turn of any speaker in a known conversation (system notes, agent messages, imports).

        The result carries the conversation's `status`, read in the same transaction.
        """

        def work(c: Connection) -> dict:
            [turn] = self._append_rows(c, conversation_id, [{"speaker": speaker, "text": text, **fields}])
            return {**turn, "status": c.execute(q.CONVERSATION_STATUS, {"b_conversation": conversation_id}).scalar_one()}

        return self._run_core(work)

    def record_replies(self, conversation_id: str, customer_turn_id: int, replies: list[dict],
                       nlu: dict | None = None) -> list[dict]:
        """Store the bot's replies to a customer turn and mark it answered, in one transaction.

        `nlu` (from Rasa's tracker: intent, confidence, entities, an action per reply) is stored with
        them, so a transcript never shows an answer without what the bot understood. The
        conversation's outcome (answered / fallback, unless already handed off) and its lowest
        confidence are updated by the statement that takes the conversation's lock.
        """
        nlu = nlu or {}
        actions = list(nlu.get("actions") or []) + [None] * len(replies)
        rows = [{"speaker": Speaker.BOT.value, "text": r.get("text", ""), "action": action,
                 "answer_source": answer_source(r, action), "answer_template": template_of(r),
                 **{k: r.get(k) for k in ("buttons", "sources", "candidates", "model_versions", "secret_input")}}
                for r, action in zip(replies, actions)]
        outcome = Outcome.FALLBACK.value if nlu.get("intent") == "nlu_fallback" else Outcome.ANSWERED.value

        def work(c: Connection) -> list[dict]:
            c.execute(q.UPDATE_TURN, {"b_turn": customer_turn_id, "answered": True, "intent": nlu.get("intent"),
                                      "confidence": nlu.get("confidence"), "entities": nlu.get("entities")})
            return self._append_rows(c, conversation_id, rows, q.ANSWERED_CONVERSATION, b_outcome=outcome,
                                     b_confidence=nlu.get("confidence"))

        return self._run_core(work)

    def record_unanswered(self, conversation_id: str, customer_turn_id: int, notice: str, reason: str) -> dict:
        """Mark a customer turn unanswered (Rasa down or slow) and store the notice the customer saw."""

        def work(c: Connection) -> dict:
            conv = c.execute(q.CONVERSATION_FOR_UPDATE, {"b_conversation": conversation_id}).first()
            if conv is None:
                raise NotFound(f"No conversation {conversation_id!r}.")
            c.execute(q.UPDATE_TURN, {"b_turn": customer_turn_id, "answered": False})
            [turn] = self._append_rows(c, conversation_id, [{"speaker": Speaker.SYSTEM.value, "text": notice,
                                                             "answer_source": FALLBACK}],
                                       meta={**(conv.meta or {}), "last_unanswered_reason": reason},
                                       outcome=conv.outcome or Outcome.FALLBACK.value)
            return turn

        return self._run_core(work)

    def history(self, conversation_id: str, limit: int | None = None) -> list[dict]:
        """The conversation's turns in order (the last `limit` when given)."""

        def work(s: Session) -> list[dict]:
            query = select(Turn).where(Turn.conversation_id == conversation_id).order_by(Turn.seq.desc())
            rows = s.execute(query.limit(limit) if limit else query).scalars().all()
            return [turn_dict(t) for t in reversed(rows)]

        return self._run(work)

    def replies_to(self, conversation_id: str, customer_turn_id: int) -> list[dict]:
        """Bot and system turns stored after a customer turn, up to the next customer turn."""

        def work(s: Session) -> list[dict]:
            anchor = s.get(Turn, customer_turn_id)
            rows = s.execute(select(Turn).where(Turn.conversation_id == conversation_id, Turn.seq > anchor.seq)
                             .order_by(Turn.seq)).scalars()
            out = []
            for t in rows:
                if t.speaker == Speaker.CUSTOMER.value:
                    break
                out.append(turn_dict(t))
            return out

        return self._run(work)

    # --- hardening: offered buttons, verified identities, turns a crash left unanswered ----------
    def offered_buttons(self, conversation_id: str) -> list[dict]:
        """The buttons of the bot's latest answer (its turns after the last customer turn), as stored."""

        def work(s: Session) -> list[dict]:
            rows = s.execute(select(Turn.speaker, Turn.buttons).where(Turn.conversation_id == conversation_id)
                             .order_by(Turn.seq.desc()).limit(20)).all()
            offered: list[dict] = []
            for speaker, buttons in rows:
                if speaker == Speaker.CUSTOMER.value:
                    break
                offered = [b for b in (buttons or []) if isinstance(b, dict)] + offered
            return offered

        return self._run(work)

    def link_identity(self, session_id: str, conversation_id: str, user_id: str) -> None:
        """Record the verified host-site user on the session and its open conversation."""

        def work(s: Session) -> None:
            s.get(CustomerSession, session_id).verified_user_id = user_id
            self._owned(s, session_id, conversation_id).verified_user_id = user_id

        self._run(work)

    def unfinished_turns(self, since: dt.datetime, limit: int = 1000) -> list[dict]:
        """Customer turns since `since` that were stored (acknowledged) but neither answered nor marked
        unanswered, in conversations the bot has (status bot), with nothing stored after them."""

        def work(s: Session) -> list[dict]:
            rows = s.execute(
                select(Turn, Conversation.last_activity_at, Conversation.verified_user_id)
                .join(Conversation, Conversation.id == Turn.conversation_id)
                .where(Turn.speaker == Speaker.CUSTOMER.value, Turn.answered.is_(None), Turn.created_at >= since,
                       Conversation.status == ConversationStatus.BOT.value)
                .order_by(Turn.id).limit(limit)).all()
            out = []
            for turn, _activity, user in rows:
                later = s.execute(select(Turn.id).where(Turn.conversation_id == turn.conversation_id,
                                                        Turn.seq > turn.seq).limit(1)).first()
                if later is None:
                    out.append({**turn_dict(turn), "verified_user_id": user})
            return out

        return self._run(work)

    def set_feedback(self, session_id: str, turn_id: int, value: int) -> dict:
        """Thumbs up (+1) / down (-1) on a bot turn of one of this session's conversations."""

        def work(s: Session) -> dict:
            turn = s.get(Turn, turn_id)
            if turn is None or turn.speaker != Speaker.BOT.value:
                raise NotFound("Feedback can only be given on one of the bot's answers in your conversation.")
            conv = self._owned(s, session_id, turn.conversation_id)
            turn.feedback = value
            if value < 0:
                conv.has_negative_feedback = True
            return turn_dict(turn)

        return self._run(work)
