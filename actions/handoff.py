"""`action_handoff`: the customer asked for a person (or accepted the bot's offer of one).

The action only announces it; the bot service sees `"handoff": true` in the custom payload and
queues the conversation for an agent (bot/handoff.py), which pauses Rasa while a human has it.
If a form was running (blocking a card), it is stopped so the bot doesn't resume mid-question.
"""

from __future__ import annotations

from rasa_sdk import Tracker
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.base import Events, PoliteAction, annotate
from actions.block_card import FORM_SLOTS
from actions.knowledge import Understanding


class ActionHandoff(PoliteAction):
    def name(self) -> str:
        return "action_handoff"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        understanding = Understanding.from_message(tracker.latest_message)
        reason = "customer_request" if understanding.intent == "request_human" else f"intent:{understanding.intent}"
        dispatcher.utter_message(response="utter_handoff")
        annotate(dispatcher, handoff=True, reason=reason)
        # Always end any form (the rules expect `active_loop: null` after this action).
        return [ActiveLoop(None), SlotSet("requested_slot", None)] + [SlotSet(s, None) for s in FORM_SLOTS]
