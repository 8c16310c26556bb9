"""Blocking a lost or stolen card: the form's validation and the action that records the block.

`block_card_form` (domain.yml) asks for the card's last four digits, then for confirmation.
`validate_block_card_form` reads the digits out of whatever the customer typed ("it ends 4821",
"4 8 2 1") and understands a typed yes/no; "cancel" / "never mind" (or a `deny` intent) ends the
form without blocking. `action_block_card` then records the block through `BankBackend` (or
reports that nothing was blocked) and clears the form's slots for the next time.

Blocking acts on an account, so it needs to know whose: the customer must be verified by the host
site (the bot service puts `verified_user_id` in the message metadata only when the site's HMAC
verified, bot/identity.py), and the block is recorded for that user. An anonymous visitor is told
to log in first or ask for a person; nothing is blocked. Rasa's channels must therefore be reachable
only by the bot service (docs/security.md), since metadata is whatever the caller of Rasa sends.
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
NEEDS_IDENTITY = ("To block a card I need to know it's really you. Please log in to your account on our website "
                  "and open this chat there, or ask to talk to a person.")


def verified_user(tracker: Tracker) -> str | None:
    """The host site's verified user id of the latest message, if the bot service vouched for one."""
    user = ((tracker.latest_message or {}).get("metadata") or {}).get("verified_user_id")
    return user if isinstance(user, str) and user else None


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
        customer = verified_user(tracker)
        if customer is None:  # an anonymous visitor: never act on an account for them
            dispatcher.utter_message(text=NEEDS_IDENTITY)
            annotate(dispatcher, error="identity_required", action=self.name())
            return reset
        try:
            block = await asyncio.to_thread(self.bank.block_card, customer, last4)
        except BankUnavailable:
            dispatcher.utter_message(response="utter_block_failed", card_last4=last4)
            annotate(dispatcher, error="bank_unavailable", action=self.name())
            return reset
        response = "utter_card_already_blocked" if block["already_blocked"] else "utter_card_blocked"
        dispatcher.utter_message(response=response, card_last4=last4, reference=block["reference"])
        annotate(dispatcher, card_block={k: block[k] for k in ("reference", "card_last4", "status", "already_blocked")})
        return reset
