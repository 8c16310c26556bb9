"""The one rule every action here follows: answer the customer, never fail the webhook.

rasa_sdk turns an exception inside an action into an HTTP 500, which Rasa shows the customer as
silence. `PoliteAction.run` catches anything the action's `act` raises, logs it with the
conversation id, and says sorry instead (with a button to reach a person).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

log = logging.getLogger(__name__)

Events = list[dict[str, Any]]


def annotate(dispatcher: CollectingDispatcher, **fields: Any) -> None:
    """Send the `supportbot` custom payload that annotates the reply before it.

    Its fields: docs/architecture.md, "The action → service payload"."""
    dispatcher.utter_message(json_message={"supportbot": {"sources": [], **fields}})


def apologise(dispatcher: CollectingDispatcher, action: str, error: str = "action_failed") -> None:
    """The reply when a dependency failed: a polite message plus a machine-readable marker."""
    dispatcher.utter_message(response="utter_something_went_wrong")
    annotate(dispatcher, error=error, action=action)


class PoliteAction(Action):
    """Base class: subclasses implement `act`; `run` guarantees a reply."""

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        raise NotImplementedError

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        try:
            return await self.act(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - the point of this class: no exception reaches the webhook
            log.exception("%s failed in conversation %s", self.name(), tracker.sender_id)
            apologise(dispatcher, self.name())
            return []
