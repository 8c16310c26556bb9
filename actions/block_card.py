"""Blocking a lost or stolen card: the form's validation and the action that records the block.

`block_card_form` (domain.yml) asks for the card's last four digits, then for confirmation.
`validate_block_card_form` reads the digits out of whatever the customer typed ("it ends 4821",
"4 8 2 1") and understands a typed yes/no; "cancel" / "never mind" (or a `deny` intent) ends the
form without blocking. `action_block_card` then records the block through `BankBackend` (or
reports that nothing was blocked) and clears the form's slots for the next time.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.bank import BankBackend, BankUnavailable
from actions.base import Events, PoliteAction, annotate, apologise

FOUR_DIGITS = re.compile(r"(?<!\d)(\d)\s?(\d)\s?(\d)\s?(\d)(?!\s?\d)")
CANCEL = re.compile(r"\b(cancel|stop|never ?mind|forget it|don'?t block|do not block|found it)\b", re.I)
YES = re.compile(r"^\s*(y|yes|yeah|yep|yup|sure|ok(ay)?|please( do)?|go ahead|do it|block it|confirm(ed)?)\b", re.I)
NO = re.compile(r"^\s*(n|no|nope|nah|don'?t|do not|cancel|stop|wait)\b", re.I)
FORM_SLOTS = ("card_last4", "block_confirmed")


def extract_last4(text: Any) -> str | None:
    """The four digits in the customer's text, or None when there isn't exactly one such group."""
    groups = {"".join(m.groups()) for m in FOUR_DIGITS.finditer(str(text or ""))}
    return groups.pop() if len(groups) == 1 else None


def read_confirmation(value: Any) -> bool | None:
    """True / False for an affirm/deny slot value or a typed yes/no; None when unclear."""
    if isinstance(value, bool):
        return value
    text = str(value or "")
    if NO.match(text):
        return False
    if YES.match(text):
        return True
    return None


def _stop_form() -> dict[str, Any]:
    return {"card_last4": None, "block_confirmed": False, "requested_slot": None}


class ValidateBlockCardForm(FormValidationAction):
    def name(self) -> str:
        return "validate_block_card_form"

    def validate_card_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        last4 = extract_last4(value)
        if last4 is not None:
            return {"card_last4": last4}
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if intent == "deny" or CANCEL.search(str(value or "")):
            return _stop_form()
        dispatcher.utter_message(response="utter_invalid_card_last4")
        return {"card_last4": None}

    def validate_block_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        answer = read_confirmation(value)
        if answer is None:
            if CANCEL.search(str(value or "")):
                return _stop_form()
            dispatcher.utter_message(response="utter_invalid_block_confirmed")
            return {"block_confirmed": None}
        return {"block_confirmed": answer}

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - a validation bug must not become an HTTP 500
            apologise(dispatcher, self.name())
            return [SlotSet("requested_slot", None)]


class ActionBlockCard(PoliteAction):
    """Runs when the form ends: block the card if the customer confirmed, else say nothing changed."""

    def __init__(self, bank: BankBackend):
        self.bank = bank

    def name(self) -> str:
        return "action_block_card"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        last4 = extract_last4(tracker.get_slot("card_last4"))
        if tracker.get_slot("block_confirmed") is not True or last4 is None:
            dispatcher.utter_message(response="utter_block_cancelled")
            return reset
        try:
            block = await asyncio.to_thread(self.bank.block_card, tracker.sender_id, last4)
        except BankUnavailable:
            dispatcher.utter_message(response="utter_block_failed", card_last4=last4)
            annotate(dispatcher, error="bank_unavailable", action=self.name())
            return reset
        response = "utter_card_already_blocked" if block["already_blocked"] else "utter_card_blocked"
        dispatcher.utter_message(response=response, card_last4=last4, reference=block["reference"])
        annotate(dispatcher, card_block={k: block[k] for k in ("reference", "card_last4", "status", "already_blocked")})
        return reset
