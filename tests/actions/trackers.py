"""Building real rasa_sdk Trackers the way Rasa 3.6 sends them to the action server."""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher


def user_message(text: str, intent: str | None, confidence: float = 0.95, entities: list | None = None) -> dict:
    return {
        "text": text,
        "intent": {"name": intent, "confidence": confidence} if intent else {},
        "intent_ranking": [{"name": intent, "confidence": confidence}] if intent else [],
        "entities": entities or [],
    }


def tracker_state(
    text: str = "",
    intent: str | None = None,
    confidence: float = 0.95,
    *,
    slots: dict[str, Any] | None = None,
    slot_events: dict[str, Any] | None = None,
    history: list[tuple[str, str]] | None = None,
    active_loop: str | None = None,
    sender_id: str = "test-customer",
    metadata: dict[str, Any] | None = None,
) -> dict:
    """The tracker dict of a conversation: optional earlier (speaker, text) turns, then this message,
    then `slot_events` (the slot candidates Rasa appends before a form's validation action runs)."""
    now = time.time()
    events: list[dict] = [{"event": "action", "name": "action_listen", "timestamp": now}]
    for speaker, said in history or []:
        kind = "user" if speaker == "customer" else "bot"
        events.append({"event": kind, "text": said, "timestamp": now})
    latest = user_message(text, intent, confidence)
    if metadata is not None:  # what the bot service sends with the message (e.g. verified_user_id)
        latest = {**latest, "metadata": metadata}
    events.append({"event": "user", "text": text, "parse_data": latest, "timestamp": now})
    for name, value in (slot_events or {}).items():
        events.append({"event": "slot", "name": name, "value": value, "timestamp": now})
    return {
        "sender_id": sender_id,
        "slots": {"card_last4": None, "block_confirmed": None, "requested_slot": None, **(slots or {}),
                  **(slot_events or {})},
        "latest_message": latest,
        "events": events,
        "paused": False,
        "followup_action": None,
        "active_loop": {"name": active_loop} if active_loop else {},
        "latest_action_name": "action_listen",
    }


def make_tracker(*args: Any, **kwargs: Any) -> Tracker:
    return Tracker.from_dict(tracker_state(*args, **kwargs))


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["text"] for m in dispatcher.messages if m.get("text")]


def responses(dispatcher: CollectingDispatcher) -> list[str]:
    return [m["response"] for m in dispatcher.messages if m.get("response")]


def payloads(dispatcher: CollectingDispatcher) -> list[dict]:
    """The `supportbot` custom payloads the action sent."""
    return [m["custom"]["supportbot"] for m in dispatcher.messages if (m.get("custom") or {}).get("supportbot")]
