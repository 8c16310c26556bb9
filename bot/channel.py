"""What happens to a customer's message, the same for the widget's WebSocket and `POST /api/messages`.

  store the customer turn (durable) -> status bot? Rasa starts on it -> ack, typing -> Rasa's answer
  (bounded wait) with the turn's tracker events -> the replies stored with their NLU details (durable,
  one worker thread) -> deliver

The NLU details come from Rasa's tracker, in the answer of supportbot's Rasa channel
(rasa_plugins/channel.py); when an answer does not carry them (a Rasa with another tracker store, or
`nlu_details_source` tracker_store / tracker_api) they are read from Rasa's tracker store or API.

Rasa is awaited with `asyncio`, so a slow answer never holds up another session. When Rasa or the
action server is down, or slower than `rasa_timeout_s`, the customer gets a polite notice at once,
the turn is marked unanswered, and a late answer (up to `rasa_late_reply_s`) is still stored and
delivered through the hub. While a person has the conversation (status waiting/human) messages are
not forwarded to Rasa; they reach the agent through the hub.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool

from bot.errors import (
    EmptyMessage,
    InvalidRequest,
    MessageTooLong,
    NotFound,
    RasaTimeout,
    RasaUnavailable,
    ServiceError,
)
from bot.handoff import HandoffError
from bot.language import message_language, reply_language
from bot.rasa_client import RasaAnswer
from bot.replies import nlu_details, parse_replies, turn_start
from bot.solved import SOLVED_ACTION, is_solved, offer_solved
from bot.text_rules import escape_command, valid_text

if TYPE_CHECKING:  # pragma: no cover
    from bot.app import Services

log = logging.getLogger(__name__)
Emit = Callable[[dict], Awaitable[None]]

NOTICES = {
    "rasa_timeout": "Sorry, this is taking longer than usual. Your message is saved and the answer will appear "
                    "here as soon as it is ready. You can also ask to talk to a person.",
    "rasa_unavailable": "Sorry, our assistant is temporarily unavailable. Your message is saved; please try "
                        "again in a few minutes, or ask to talk to a person.",
    "no_reply": "Sorry, I could not answer that right now. Your message is saved; you can rephrase it, "
                "or ask to talk to a person.",
}
SOLVED_THANKS = "Great, glad that helped! Write again any time you need something else."
PUBLIC_TURN_KEYS = ("turn_id", "seq", "speaker", "text", "ts", "agent_name", "buttons", "sources", "feedback",
                    "client_msg_id", "conversation_id", "secret_input")
HUMAN_STATUSES = ("waiting", "human")


def public_turn(turn: dict) -> dict:
    """The fields of a turn a customer may see (no intents, candidates or model versions)."""
    return {k: turn[k] for k in PUBLIC_TURN_KEYS if turn.get(k) is not None}


def message_event(turn: dict, **extra: Any) -> dict:
    return {"type": "message", **public_turn(turn), **extra}


async def _quiet(_event: dict) -> None:
    return None


class Channel:
    def __init__(self, services: Services):
        self.services = services
        self.settings = services.settings
        self._background: set[asyncio.Task] = set()

    async def db(self, fn: Callable, *args: Any, **kwargs: Any) -> Any:
        """Run a (synchronous, committing) store call in a worker thread."""
        return await run_in_threadpool(fn, *args, **kwargs)

    def check_text(self, text: Any) -> str:
        text = valid_text(text).strip()
        if not text:
            raise EmptyMessage("The message is empty; type something before sending.")
        limit = self.settings.max_message_chars
        if len(text) > limit:
            raise MessageTooLong(f"The message is {len(text)} characters long; the limit is {limit}. "
                                 "Please shorten it or split it into several messages.", max_chars=limit)
        return text

    # --- customer messages -------------------------------------------------------------------
    async def handle_message(self, session: dict, text: Any, client_msg_id: str | None = None,
                             rasa_text: str | None = None, emit: Emit = _quiet) -> dict:
        """Store, forward and answer one customer message; returns what happened as plain data.

        `emit` receives the events for the customer's own connection as they happen (ack, typing,
        messages); the same turns are also published on the hub for other tabs and the console.
        `rasa_text` is what Rasa gets instead of the text (the payload of an offered button, looked up
        server-side); otherwise Rasa gets the text, escaped when it starts with `/` so it is never
        parsed as an intent command. The customer turn stores what Rasa got when it differs.
        The work runs to its end even if the caller goes away (a tab closed while the bot was
        thinking): the answer is still stored, and the history shows it next time.
        """
        task = asyncio.ensure_future(self._handle_message(session, text, client_msg_id, rasa_text, emit))
        self._background.add(task)
        task.add_done_callback(self._forget)  # the caller reports its errors; nothing to log here
        return await asyncio.shield(task)

    async def _handle_message(self, session: dict, text: Any, client_msg_id: str | None, rasa_text: str | None,
                              emit: Emit) -> dict:
        text = self.check_text(text)
        if client_msg_id is not None and (not isinstance(client_msg_id, str) or len(client_msg_id) > 64):
            raise InvalidRequest("`client_msg_id` must be a string of at most 64 characters.")
        if client_msg_id is not None:
            valid_text(client_msg_id, "client_msg_id")
        rasa_text = rasa_text if rasa_text is not None else escape_command(text)
        turn = await self.db(self._store_customer_turn, session, text, client_msg_id,
                             None if rasa_text == text else rasa_text)
        turn["verified_user_id"] = session.get("verified_user_id")
        conv_id = turn["conversation_id"]
        solved = is_solved(rasa_text)  # "That solved it": answered here, never sent to Rasa
        # durable now: Rasa starts on it while the ack and the typing indicator go out
        call = None if solved or turn["duplicate"] or turn["status"] in HUMAN_STATUSES else self._ask_rasa(
            conv_id, turn, rasa_text)
        if call is not None:
            await asyncio.sleep(0)  # the request goes out to Rasa before the ack and typing frames
        await emit({"type": "ack", "client_msg_id": client_msg_id, "turn_id": turn["turn_id"],
                    "conversation_id": conv_id, "duplicate": turn["duplicate"]})
        result = {"conversation_id": conv_id, "customer_turn": turn, "status": turn["status"],
                  "duplicate": turn["duplicate"], "replies": [], "answered": None}
        try:
            if solved and not turn["duplicate"] and turn["status"] not in HUMAN_STATUSES:
                return {**result, "replies": await self._solved(conv_id, turn, emit), "answered": True}
            return {**result, **await self._answer(turn, rasa_text, emit, call)}
        finally:
            # the end of this message's answer (also for resends and while a person has the chat)
            await emit({"type": "typing", "on": False, "client_msg_id": client_msg_id})

    def _store_customer_turn(self, session: dict, text: str, client_msg_id: str | None,
                             rasa_text: str | None) -> dict:
        """In the worker thread: detect the message's language (lingua: CPU, first use loads its models),
        then store the turn with it."""
        return self.services.store.append_customer_turn(
            session["session_id"], session["channel"], text, client_msg_id, rasa_text,
            session.get("verified_user_id"), message_language(text))

    async def _answer(self, turn: dict, text: str, emit: Emit, call: asyncio.Future | None = None) -> dict:
        conv_id = turn["conversation_id"]
        if turn["duplicate"]:
            # replies and the answered mark are stored in one transaction, so a turn with `answered` NULL has
            # no replies of its own: turns after it are another message's late answer
            if turn["answered"] is not None or turn["status"] in HUMAN_STATUSES:
                stored = await self.db(self.services.store.replies_to, conv_id, turn["turn_id"])
                for t in stored:
                    await emit(message_event(t, reply_to=turn["turn_id"]))
                return {"replies": stored, "answered": turn["answered"]}
            # stored before, but its answer never was (its replica died, the store failed mid-way): ask again
        else:
            self.services.hub.publish(conv_id, message_event(turn))
        if turn["status"] in HUMAN_STATUSES:
            return {}  # a person has (or will have) this conversation; the hub told them
        await emit({"type": "typing", "on": True})
        return await self._forward(conv_id, turn, emit, call or self._ask_rasa(conv_id, turn, text))

    def _ask_rasa(self, conv_id: str, turn: dict, text: str) -> asyncio.Future:
        """Start sending the message to Rasa; it runs on (up to rasa_late_reply_s) whoever waits for it."""
        metadata = {"turn_id": turn["turn_id"]}
        if turn.get("conversation_language"):  # Rasa's `language` slot (rasa_plugins/channel.py)
            metadata["language"] = reply_language(turn["conversation_language"])
        if turn.get("verified_user_id"):  # the host site's user, HMAC-verified (bot/identity.py)
            metadata["verified_user_id"] = turn["verified_user_id"]
        return asyncio.ensure_future(self.services.rasa.send(
            conv_id, text, metadata=metadata, timeout_s=self.settings.rasa_late_reply_s))

    async def _forward(self, conv_id: str, turn: dict, emit: Emit, call: asyncio.Future) -> dict:
        done, _ = await asyncio.wait({call}, timeout=self.settings.rasa_timeout_s)
        if not done:
            self._spawn(self._late_reply(conv_id, turn, call))
            return await self._unanswered(conv_id, turn, "rasa_timeout", emit)
        try:
            answer: RasaAnswer = call.result()
        except RasaUnavailable as exc:
            log.warning("Rasa unavailable for %s: %s", conv_id, exc)
            return await self._unanswered(conv_id, turn, exc.code if isinstance(exc, RasaTimeout)
                                          else "rasa_unavailable", emit)
        replies, handoff = parse_replies(answer.messages)
        offer_solved(replies, self.settings.solved_button_title)
        if not replies and not handoff:
            return await self._unanswered(conv_id, turn, "no_reply", emit)
        stored = await self._deliver(conv_id, turn, replies, emit, answer.events)
        if handoff:
            await self._bot_handoff(conv_id, replies)
        return {"replies": stored, "answered": True}

    async def _deliver(self, conv_id: str, turn: dict, replies: list[dict], emit: Emit,
                       events: list[dict] | None = None) -> list[dict]:
        turn_id = turn["turn_id"]
        if events and turn_start(events, turn_id) is not None:  # the details came with Rasa's answer
            stored = await self.db(self.services.store.record_replies, conv_id, turn_id, replies,
                                   nlu_details(events, turn_id, replies))
        else:
            stored = (await self.db(self._record_with_stored_details, conv_id, turn_id, replies)
                      if self.services.tracker_events is not None else None)
            if stored is None:  # Rasa's tracker store is not ours to read, or does not hold the turn
                stored = await self.db(self.services.store.record_replies, conv_id, turn_id, replies,
                                       await self._nlu_from_api(conv_id, turn_id, replies))
        for t in stored:
            event = message_event(t, reply_to=turn_id)
            await emit(event)
            self.services.hub.publish(conv_id, event)
        return stored

    async def _solved(self, conv_id: str, turn: dict, emit: Emit) -> list[dict]:
        """The customer clicked "That solved it" (bot/solved.py): the service's own thanks, stored and sent."""
        self.services.hub.publish(conv_id, message_event(turn))
        stored = await self.db(self.services.store.record_replies, conv_id, turn["turn_id"], [{"text": SOLVED_THANKS}],
                               {"actions": [SOLVED_ACTION]})
        for t in stored:
            event = message_event(t, reply_to=turn["turn_id"])
            await emit(event)
            self.services.hub.publish(conv_id, event)
        return stored

    def _record_with_stored_details(self, conv_id: str, turn_id: int, replies: list[dict]) -> list[dict] | None:
        """In a worker thread: the NLU details from Rasa's tracker store, then the replies stored with them."""
        events = self.services.tracker_events.from_store(conv_id, turn_id)
        if not events:
            return None
        return self.services.store.record_replies(conv_id, turn_id, replies, nlu_details(events, turn_id, replies))

    async def _nlu_from_api(self, conv_id: str, turn_id: int, replies: list[dict]) -> dict:
        """What Rasa understood, from its tracker API (never a second NLU call); empty if it cannot be read."""
        try:
            events = (await self.services.rasa.tracker(conv_id)).get("events") or []
        except RasaUnavailable as exc:
            log.warning("no NLU details for turn %s: %s", turn_id, exc)
            events = []
        return nlu_details(events, turn_id, replies)

    async def _unanswered(self, conv_id: str, turn: dict, reason: str, emit: Emit) -> dict:
        notice = NOTICES.get(reason, NOTICES["rasa_unavailable"])
        stored = await self.db(self.services.store.record_unanswered, conv_id, turn["turn_id"], notice, reason)
        event = message_event(stored, notice=reason, reply_to=turn["turn_id"])
        await emit(event)
        self.services.hub.publish(conv_id, event)
        return {"replies": [stored], "answered": False, "notice": reason}

    async def _late_reply(self, conv_id: str, turn: dict, call: asyncio.Future, unanswered: bool = False) -> None:
        """A slow answer that arrives after the notice is still stored and delivered through the hub.
        `unanswered`: no notice was stored yet (a resumed turn); when no answer comes, mark it."""
        try:
            answer: RasaAnswer = await call
        except RasaUnavailable as exc:
            log.warning("late Rasa answer for turn %s never came: %s", turn["turn_id"], exc)
            if unanswered:
                await self._unanswered(conv_id, turn, "rasa_unavailable", _quiet)
            return
        replies, handoff = parse_replies(answer.messages)
        offer_solved(replies, self.settings.solved_button_title)
        if not replies and unanswered:
            await self._unanswered(conv_id, turn, "no_reply", _quiet)
        if replies:
            await self._deliver(conv_id, turn, replies, _quiet, answer.events)
        if handoff:
            await self._bot_handoff(conv_id, replies)

    def resume(self, turn: dict) -> None:
        """Answer a stored customer turn whose answer was lost (bot/recovery.py), in the background:
        Rasa gets what it would have got, and the answer reaches the customer through the hub."""
        conv_id = turn["conversation_id"]
        text = turn.get("rasa_text") or turn["text"]
        self._spawn(self._late_reply(conv_id, turn, self._ask_rasa(conv_id, turn, text), unanswered=True))

    # --- everything else the customer can do ---------------------------------------------------
    async def _owned(self, session: dict, conversation_id: str) -> dict:
        conv = await self.db(self.services.store.get_conversation, conversation_id)
        if conv is None or conv["session_id"] != session["session_id"]:
            raise NotFound("This conversation does not exist or does not belong to your session.")
        return conv

    async def feedback(self, session: dict, turn_id: Any, value: Any) -> dict:
        score = {"up": 1, "down": -1, 1: 1, -1: -1}.get(value) if not isinstance(value, bool) else None
        if not isinstance(turn_id, int) or score is None:
            raise InvalidRequest('Feedback needs a `turn_id` and a `value` of "up" or "down".')
        turn = await self.db(self.services.store.set_feedback, session["session_id"], turn_id, score)
        event = {"type": "feedback", "turn_id": turn_id, "value": "up" if score > 0 else "down"}
        self.services.hub.publish(turn["conversation_id"], event)
        return event

    async def csat(self, session: dict, conversation_id: Any, score: Any) -> dict:
        if not isinstance(score, int) or isinstance(score, bool) or not 1 <= score <= 5:
            raise InvalidRequest("The satisfaction score must be a whole number from 1 to 5.")
        if not isinstance(conversation_id, str):
            raise InvalidRequest("`conversation_id` must name the conversation being rated.")
        await self.db(self.services.store.set_csat, session["session_id"], conversation_id, score)
        event = {"type": "csat", "conversation_id": conversation_id, "score": score}
        self.services.hub.publish(conversation_id, event)
        return event

    async def end(self, session: dict, conversation_id: str) -> dict:
        """The customer ends the chat; the agent (if any) is told, and the widget asks for a rating."""
        await self._owned(session, conversation_id)
        await self.services.handoff.close(conversation_id, "the customer")
        return {"type": "csat_request", "conversation_id": conversation_id}

    async def handoff(self, session: dict, conversation_id: str, reason: str = "customer") -> dict:
        await self._owned(session, conversation_id)
        return await self._request_handoff(conversation_id, reason)

    async def leave_contact(self, session: dict, conversation_id: str, contact: Any) -> dict:
        await self._owned(session, conversation_id)
        try:
            await self.services.handoff.leave_contact(conversation_id, contact if isinstance(contact, str) else "")
        except HandoffError as exc:
            raise InvalidRequest(str(exc)) from exc
        return {"type": "contact_saved", "conversation_id": conversation_id}

    async def _bot_handoff(self, conversation_id: str, replies: list[dict] = ()) -> None:
        """The bot asked for a human (`"handoff": true`); its own reply already told the customer."""
        detail = next((r["handoff_reason"] for r in replies if r.get("handoff_reason")), None)
        try:
            await self._request_handoff(conversation_id, "bot", detail)
        except ServiceError as exc:
            log.warning("the bot asked for a human in %s but: %s", conversation_id, exc)

    async def _request_handoff(self, conversation_id: str, reason: str, detail: str | None = None) -> dict:
        try:
            result = await self.services.handoff.request(conversation_id, reason, detail)
        except HandoffError as exc:
            raise InvalidRequest(str(exc)) from exc
        return {"type": "handoff", "conversation_id": conversation_id, **result}

    # --- background work -----------------------------------------------------------------------
    def _spawn(self, coro: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("background work failed: %s", task.exception())

    def _forget(self, task: asyncio.Task) -> None:
        self._background.discard(task)
        if not task.cancelled():
            task.exception()  # retrieved: the awaiting caller (if still there) reported it

    async def drain(self, timeout: float = 30.0) -> None:
        """Wait for background work (late replies); used at shutdown and by tests."""
        if self._background:
            await asyncio.wait(list(self._background), timeout=timeout)

    async def aclose(self) -> None:
        await self.drain(timeout=5.0)
        for task in list(self._background):
            task.cancel()
