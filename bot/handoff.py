"""Human handoff: the queue of conversations waiting for a person, and who has which one.

The conversation's `status` column is the single source of truth (bot → waiting → human → bot or
closed). Claiming is one conditional UPDATE, so two agents (or two replicas) can never both win.
While a human has a conversation the bot service does not forward customer messages to Rasa
(it checks the status) and Rasa itself is paused, so nothing the bot has scheduled can speak
either; handing back resumes it. Every step is stored as a system turn and published on the hub,
where the customer's widget and every console tab pick it up.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.answer_source import AGENT
from bot.errors import Conflict, NotFound, RasaUnavailable, ServiceError, Unprocessable
from core.store.base import utcnow
from core.store.models import Conversation, ConversationStatus, Outcome, Speaker, Turn, User

log = logging.getLogger(__name__)
T = TypeVar("T")

EMAIL = re.compile(r"^[^@\s<>]{1,64}@[^@\s<>]{1,189}\.[A-Za-z]{2,24}$")
NO_AGENT_TEXT = (
    "No agent is online right now. Leave your message here, or your email address, "
    "and a person will get back to you."
)
WAITING_TEXT = "You're in the queue; an agent will join shortly."
OPEN = (ConversationStatus.BOT.value, ConversationStatus.WAITING.value)


class HandoffError(ServiceError):
    """Base of the handoff errors; each carries a message meant for the person who caused it.

    Each also subclasses the bot.errors class that gives its HTTP status (bot.errors.HTTP_STATUS)."""


class ConversationNotFound(HandoffError, NotFound):
    code = "not_found"


class AlreadyClaimed(HandoffError, Conflict):
    """Another agent has the conversation (or it is closed)."""

    code = "already_claimed"


class NotAssigned(HandoffError, Conflict):
    """The agent tried to speak in, or hand back, a conversation they do not have."""

    code = "not_assigned"


class InvalidInput(HandoffError, Unprocessable):
    code = "invalid_input"


def agent_identity(agent: Any) -> tuple[int | None, str]:
    """(user id, display name) of a console user given as an object or a dict; a string is a role name."""
    if isinstance(agent, str):
        return None, agent
    get = agent.get if isinstance(agent, dict) else lambda k, d=None: getattr(agent, k, d)
    return get("id"), get("display_name") or get("username") or "agent"


class Handoff:
    def __init__(self, db, hub, rasa, settings):
        self.db = db
        self.hub = hub
        self.rasa = rasa
        self.settings = settings
        self._presence: Counter[int] = Counter()  # user id -> open console streams

    # --- presence -------------------------------------------------------------------------
    def agent_connected(self, user_id: int) -> None:
        """A console tab opened its live stream; the agent counts as online while one is open."""
        self._presence[user_id] += 1
        self.hub.share_presence(set(self._presence))

    def agent_disconnected(self, user_id: int) -> None:
        self._presence[user_id] -= 1
        if self._presence[user_id] <= 0:
            del self._presence[user_id]
        self.hub.share_presence(set(self._presence))

    def agents_online(self) -> int:
        """Agents with a console open on any replica (the others' through the hub)."""
        return len(set(self._presence) | self.hub.remote_presence())

    # --- the handoff lifecycle ------------------------------------------------------------
    # Each step runs its store work in a worker thread (a slow database never stalls the event
    # loop, hence every other customer), then publishes on the hub from the loop.
    async def request(self, conversation_id: str, reason: str, detail: str | None = None) -> dict:
        """Queue the conversation for a human; tells the customer whether anyone is online. `detail`: the
        bot's own reason (its action's `reason`, e.g. `intent:card_swallowed`), kept for the queue."""
        online = self.agents_online()

        def work(s) -> tuple[str, dict | None]:
            conv = self._get(s, conversation_id)
            if conv.status in (ConversationStatus.WAITING.value, ConversationStatus.HUMAN.value):
                return conv.status, None
            if conv.status == ConversationStatus.CLOSED.value:
                raise AlreadyClaimed("This conversation is closed; start a new one to reach a person.")
            conv.status = ConversationStatus.WAITING.value
            conv.outcome = Outcome.HANDED_OFF.value
            conv.meta = {**(conv.meta or {}), "handoff_reason": reason, "handoff_at": utcnow().isoformat(),
                         **({"handoff_detail": detail[:128]} if detail else {})}
            note = NO_AGENT_TEXT if online == 0 else WAITING_TEXT
            return ConversationStatus.WAITING.value, self._append(s, conv, Speaker.SYSTEM.value, note)

        status, turn = await self._tx(work)
        if turn is not None:
            self.hub.publish(conversation_id, {"type": "handoff", "status": status, "reason": reason,
                                               "agents_online": online, "leave_message": online == 0})
            self._publish_turn(conversation_id, turn)
        return {"status": status, "agents_online": online}

    async def claim(self, conversation_id: str, agent_user: Any) -> dict:
        """Give the conversation to this agent, atomically; raises AlreadyClaimed when someone else has it."""
        agent_id, name = agent_identity(agent_user)

        def work(s) -> dict | None:
            won = s.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.status.in_(OPEN),
                       Conversation.assigned_agent_id.is_(None))
                .values(status=ConversationStatus.HUMAN.value, assigned_agent_id=agent_id,
                        outcome=Outcome.HANDED_OFF.value, last_activity_at=utcnow())
            ).rowcount
            conv = self._get(s, conversation_id)
            if won:
                return self._append(s, conv, Speaker.SYSTEM.value, f"{name} joined the conversation.")
            if conv.status == ConversationStatus.HUMAN.value and conv.assigned_agent_id == agent_id:
                return None  # already theirs
            raise AlreadyClaimed(self._taken_message(s, conv))

        turn = await self._tx(work)
        if turn is None:
            return {"status": ConversationStatus.HUMAN.value, "agent": name, "rasa_paused": None}
        paused = await self._rasa_event(conversation_id, "pause")
        self.hub.publish(conversation_id, {"type": "agent_joined", "agent": {"id": agent_id, "name": name}})
        self._publish_turn(conversation_id, turn)
        return {"status": ConversationStatus.HUMAN.value, "agent": name, "rasa_paused": paused}

    async def agent_message(self, conversation_id: str, agent_user: Any, text: str) -> dict:
        """Store the agent's message and deliver it to the customer's widget through the hub."""
        agent_id, name = agent_identity(agent_user)
        text = (text or "").strip()
        limit = getattr(self.settings, "max_message_chars", 4000)
        if not text:
            raise InvalidInput("Type a message before sending.")
        if len(text) > limit:
            raise InvalidInput(f"Messages are limited to {limit} characters; split it into several.")

        def work(s) -> dict:
            conv = self._get(s, conversation_id)
            if conv.status != ConversationStatus.HUMAN.value or conv.assigned_agent_id != agent_id:
                raise NotAssigned("Claim the conversation before writing to the customer.")
            return self._append(s, conv, Speaker.AGENT.value, text, agent_id=agent_id, agent_name=name,
                                answer_source=AGENT)

        turn = await self._tx(work)
        self._publish_turn(conversation_id, turn)
        return turn

    async def hand_back(self, conversation_id: str, agent_user: Any) -> dict:
        """Return the conversation to the bot; Rasa is resumed and answers the next message."""
        agent_id, name = agent_identity(agent_user)

        def work(s) -> dict:
            released = s.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id, Conversation.status == ConversationStatus.HUMAN.value,
                       Conversation.assigned_agent_id == agent_id)
                .values(status=ConversationStatus.BOT.value, assigned_agent_id=None, last_activity_at=utcnow())
            ).rowcount
            conv = self._get(s, conversation_id)
            if not released:
                raise NotAssigned("Only the agent who has this conversation can hand it back.")
            return self._append(s, conv, Speaker.SYSTEM.value, f"{name} handed the conversation back to the bot.")

        turn = await self._tx(work)
        resumed = await self._rasa_event(conversation_id, "resume")
        self.hub.publish(conversation_id, {"type": "agent_left", "agent": {"id": agent_id, "name": name},
                                           "status": ConversationStatus.BOT.value})
        self._publish_turn(conversation_id, turn)
        return {"status": ConversationStatus.BOT.value, "rasa_resumed": resumed}

    async def close(self, conversation_id: str, by: Any) -> dict:
        """End the conversation (an agent, the customer or the system); idempotent."""
        _, name = agent_identity(by)

        def work(s) -> tuple[int | None, dict | None]:
            conv = self._get(s, conversation_id)
            if conv.status == ConversationStatus.CLOSED.value:
                return None, None
            had_agent = conv.assigned_agent_id
            conv.status = ConversationStatus.CLOSED.value
            conv.ended_at = conv.last_activity_at = utcnow()
            conv.assigned_agent_id = None
            if conv.outcome is None:
                conv.outcome = Outcome.ANSWERED.value if self._bot_spoke(s, conv.id) else Outcome.ABANDONED.value
            return had_agent, self._append(s, conv, Speaker.SYSTEM.value, f"Conversation closed by {name}.")

        had_agent, turn = await self._tx(work)
        if turn is not None:
            if had_agent is not None:
                self.hub.publish(conversation_id, {"type": "agent_left", "agent": {"id": had_agent, "name": name},
                                                   "status": ConversationStatus.CLOSED.value})
            self.hub.publish(conversation_id, {"type": "closed", "by": name})
            self._publish_turn(conversation_id, turn)
        return {"status": ConversationStatus.CLOSED.value}

    async def leave_contact(self, conversation_id: str, contact: str) -> dict:
        """Keep the email address a customer left while nobody was online (anonymised in exports)."""
        contact = (contact or "").strip()
        if not EMAIL.match(contact):
            raise InvalidInput("That does not look like an email address; check it and try again.")

        def work(s) -> dict:
            conv = self._get(s, conversation_id)
            if conv.contact == contact:
                return None  # the same address again (a resend, a flood): stored once
            conv.contact = contact
            return self._append(s, conv, Speaker.SYSTEM.value, "Thanks, we'll reply by email.")

        turn = await self._tx(work)
        if turn is not None:
            self._publish_turn(conversation_id, turn)
        return {"status": "ok"}

    # --- helpers --------------------------------------------------------------------------
    async def _tx(self, work: Callable[[Session], T]) -> T:
        """One unit of work (committed before it returns) in a worker thread."""
        def run() -> T:
            with self.db.session() as s:
                return work(s)

        return await asyncio.to_thread(run)

    @staticmethod
    def _get(s, conversation_id: str) -> Conversation:
        # FOR UPDATE (PostgreSQL): the same row lock the channel's appends take, so seqs never race
        conv = s.get(Conversation, conversation_id, populate_existing=True, with_for_update=True)
        if conv is None:
            raise ConversationNotFound(f"No conversation {conversation_id!r}; it may have been deleted.")
        return conv

    @staticmethod
    def _taken_message(s, conv: Conversation) -> str:
        if conv.status == ConversationStatus.CLOSED.value:
            return "This conversation is closed."
        holder = s.get(User, conv.assigned_agent_id) if conv.assigned_agent_id else None
        who = (holder.display_name or holder.username) if holder else "another agent"
        return f"{who} already has this conversation."

    @staticmethod
    def _bot_spoke(s, conversation_id: str) -> bool:
        q = select(Turn.id).where(Turn.conversation_id == conversation_id, Turn.speaker == Speaker.BOT.value)
        return s.execute(q.limit(1)).first() is not None

    def _append(self, s, conv: Conversation, speaker: str, text: str, **fields: Any) -> dict:
        """Append a turn with the next seq; retried when a concurrent writer took that seq."""
        for attempt in range(8):
            seq = s.execute(select(func.coalesce(func.max(Turn.seq), -1) + 1)
                            .where(Turn.conversation_id == conv.id)).scalar_one()
            turn = Turn(conversation_id=conv.id, seq=seq, speaker=speaker, text=text, **fields)
            try:
                with s.begin_nested():
                    s.add(turn)
                    s.flush()
                break
            except IntegrityError:
                if attempt == 7:
                    raise
        conv.last_activity_at = turn.created_at
        return turn_event(turn)

    def _publish_turn(self, conversation_id: str, turn: dict) -> None:
        self.hub.publish(conversation_id, {"type": "message", **turn})

    async def _rasa_event(self, conversation_id: str, name: str) -> bool:
        """Pause/resume Rasa's tracker; a dead Rasa is logged, never fatal (the status gate still holds)."""
        try:
            await self.rasa.append_event(conversation_id, {"event": name})
            return True
        except RasaUnavailable as exc:  # also RasaTimeout; the client maps every transport error to these
            log.warning("could not %s Rasa for %s: %s", name, conversation_id, exc)
            return False


def turn_event(turn: Turn) -> dict:
    """A stored turn as the plain dict the hub, the widget and the console share."""
    return {
        "turn_id": turn.id,
        "seq": turn.seq,
        "speaker": turn.speaker,
        "text": turn.text,
        "ts": turn.created_at.isoformat() if turn.created_at else None,
        "agent_name": turn.agent_name,
    }
