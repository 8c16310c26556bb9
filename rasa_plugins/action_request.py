"""The tracker Rasa sends to the action server, slimmed to what the actions read.

Rasa 3.6 sends `tracker.current_state(EventVerbosity.ALL)` with every custom-action call: every event since
the conversation began, each customer message with its whole parse data (the intent ranking, entities and
the 1.1 KB sentence embedding of rasa_plugins/embedding_wire.py). The request grows with the conversation
while the actions read only:
- the slots, `latest_message`, `active_loop` and `latest_action_name` (fields of the state, not events);
- from the events: the texts of the last turns (the response selector's context), the parse data of the
  customer's previous message (its embedding), the annotations of the latest KB answers (bot events'
  `data`), and what rasa-sdk's forms read (the events since the last action).

`slim_events` keeps, of the events Rasa would send: those after the latest `session_started` or `restart`;
of these the newest `window`; and the embedding and intent ranking only on the latest `keep_parse` customer
messages (earlier ones keep text, intent and entities). Slots and `latest_message` are untouched, so an
action sees the same slot values and the same latest message either way.

Endpoint options (endpoints.yml `action_endpoint`): `tracker_events: slim` (default) or `all` (Rasa's own
behaviour), and `tracker_events_window` (default 100 events). Installed with the compiled response check
(rasa_plugins/remote_action.py). Rasa's runtime only; imports nothing of the platform.
"""

from __future__ import annotations

from typing import Any, Dict, List, Text

WINDOW = 100
KEEP_PARSE = 2
BOUNDARIES = ("session_started", "restart")
HEAVY_PARSE_KEYS = ("supportbot_embedding", "intent_ranking", "response_selector")


def slim_events(events: List[Dict[Text, Any]], window: int = WINDOW, keep_parse: int = KEEP_PARSE
                ) -> List[Dict[Text, Any]]:
    """The events an action needs, newest last (the input is not modified)."""
    start = 0
    for i in range(len(events) - 1, -1, -1):
        if events[i].get("event") in BOUNDARIES:
            start = i
            break
    kept = events[start:][-max(1, int(window)):]
    users = [i for i, e in enumerate(kept) if e.get("event") == "user"]
    light = set(users[:-keep_parse] if keep_parse > 0 else users)
    out = []
    for i, event in enumerate(kept):
        if i in light and isinstance(event.get("parse_data"), dict):
            event = {**event, "parse_data": {k: v for k, v in event["parse_data"].items()
                                             if k not in HEAVY_PARSE_KEYS}}
        out.append(event)
    return out


def install() -> bool:
    """Make Rasa's RemoteAction send the slimmed tracker; False when this Rasa has no such method."""
    try:
        from rasa.core.actions.action import RemoteAction
    except ImportError:
        return False
    if getattr(RemoteAction, "_supportbot_slim_tracker", False):
        return True
    original = getattr(RemoteAction, "_action_call_format", None)
    if original is None:
        return False

    def _action_call_format(self: Any, tracker: Any, domain: Any) -> Dict[Text, Any]:
        body = original(self, tracker, domain)
        options = getattr(getattr(self, "action_endpoint", None), "kwargs", None) or {}
        if str(options.get("tracker_events", "slim")).lower() == "all":
            return body
        state = body.get("tracker") or {}
        if isinstance(state.get("events"), list):
            window = options.get("tracker_events_window", WINDOW)
            state["events"] = slim_events(state["events"], window=int(window))
        return body

    RemoteAction._action_call_format = _action_call_format
    RemoteAction._supportbot_slim_tracker = True
    return True
