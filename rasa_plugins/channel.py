"""Rasa's half of the customer channel: an input channel whose answer carries what Rasa understood.

Loaded by the Rasa server (Python 3.10, `.venv-rasa`), never by the bot service:
- `TurnInput`, listed in credentials.yml as `rasa_plugins.channel.TurnInput:`, serves
  `POST /webhooks/supportbot/webhook`. It takes the REST channel's request (`sender`, `message`,
  `metadata`) and answers `{"messages": [...], "events": [...]}`: the bot's messages, as the REST
  channel returns them but with a text never cut at its blank lines (`WholeMessages`), and the tracker events of this turn (the user event with its parse data, then
  the actions and bot events that followed), or `null` when the tracker store did not record them.
- `TurnEventsSQLTrackerStore`, Rasa's SQL tracker store without the ORM's per-row work
  (rasa_plugins/sql_tracker_store.py; endpoints.yml `tracker_store: type:
  rasa_plugins.channel.TurnEventsSQLTrackerStore`, same keys as `type: SQL`), which, after saving a turn
  that came through `TurnInput`, keeps that turn's events in this process until the channel collects
  them for the answer.

So the bot service gets the intent, confidence, entities and actions of each message from Rasa's
tracker in the same round trip as the answer: no second NLU call, and no read of Rasa's database
between the answer and the customer (docs/benchmarks.md "Customer channel"). With any other tracker
store the answer's `events` is null and the service reads the tracker as before.
"""

from __future__ import annotations

import logging
from asyncio import CancelledError
from collections import OrderedDict
from typing import Any, Awaitable, Callable

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.core.events import UserUttered
from sanic import Blueprint, response

from rasa_plugins.secret_answers import mask_secret_answer
from rasa_plugins.sql_tracker_store import LeanSQLTrackerStore

log = logging.getLogger(__name__)
CHANNEL = "supportbot"
MAX_WAITING = 10_000  # a belt: the channel collects every turn it expects, even when handling fails

# message_id of a user message that came through TurnInput -> its turn's events, until the channel collects them.
# One per Rasa process: the message is handled, saved and answered in the process that received it. Only a
# message the channel is waiting for is kept: another channel's turns, and a later save of the same tracker
# (an event appended through the HTTP API, say), park nothing.
_turns: OrderedDict[str, list[dict]] = OrderedDict()
_expected: set[str] = set()


def expect(message_id: str) -> None:
    """The channel is about to hand this message to Rasa and will collect its turn."""
    _expected.add(message_id)


def remember(events: Any) -> None:
    """Keep the newest user turn of a just-saved tracker (its user event, then what followed) if it is expected."""
    tail = []
    for event in reversed(events):
        tail.append(event)
        if isinstance(event, UserUttered):
            if event.message_id in _expected:
                _turns[event.message_id] = [e.as_dict() for e in reversed(tail)]
                while len(_turns) > MAX_WAITING:
                    _turns.popitem(last=False)
            return


def collect(message_id: str) -> list[dict] | None:
    _expected.discard(message_id)
    return _turns.pop(message_id, None)


class TurnEventsSQLTrackerStore(LeanSQLTrackerStore):
    """Rasa's SQL tracker store that also hands each TurnInput turn's events to the channel."""

    async def save(self, tracker) -> None:
        mask_secret_answer(tracker.events)  # before the broker and the store see the turn
        await super().save(tracker)
        remember(tracker.events)  # only once stored: an answer never carries events Rasa did not keep


class WholeMessages(CollectingOutputChannel):
    """Rasa's collecting channel, but a text is one message: the REST channel cuts a text without buttons at
    every blank line, so a multi-paragraph answer (the full article) would reach the customer as several
    bubbles with its annotation on the last one only."""

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self._persist_message(self._message(recipient_id, text=text.strip()))


class TurnInput(RestInput):
    """The REST channel's request; the answer adds the turn's tracker events (see the module docstring)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint("supportbot_turn_webhook", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_request):
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request):
            if not isinstance(request.json, dict) or not isinstance(request.json.get("message"), str):
                return response.json({"error": 'Send a JSON object with "sender" and "message" (a string).'},
                                     status=400)
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            collector = WholeMessages()
            message = UserMessage(text, collector, sender_id, input_channel=CHANNEL,
                                  metadata=self.get_metadata(request))
            expect(message.message_id)
            try:
                await on_new_message(message)
            except CancelledError:
                # ids and lengths only: customer text never goes to the logs (docs/privacy.md)
                log.error("supportbot channel: handling message %s (%d chars) of %s timed out",
                          message.message_id, len(text or ""), sender_id)
            except Exception:  # noqa: BLE001 - as the REST channel: answer with what was said so far
                log.exception("supportbot channel: handling message %s (%d chars) of %s failed",
                              message.message_id, len(text or ""), sender_id)
            finally:
                events = collect(message.message_id)
            return response.json({"messages": collector.messages, "events": events})

        return webhook
