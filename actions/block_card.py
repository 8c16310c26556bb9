"""Blocking a lost or stolen card: the form's validation and the action that records the block.

`block_card_form` (domain.yml) asks for the card's last four digits, then for confirmation.
`validate_block_card_form` reads the digits out of whatever the customer typed ("it ends 4821",
"4 8 2 1") and understands a typed yes/no; "cancel" / "never mind" (or a `deny` intent) ends the
form without blocking. `action_block_card` then records the block through `BankBackend` (or
reports that nothing was blocked) and clears the form's slots for the next time.

Blocking acts on an account, so it needs to know whose. A customer verified by the host site (the
bot service puts `verified_user_id` in the message metadata only when the site's HMAC verified,
bot/identity.py) skips the step-up: the form asks only for the digits and the confirmation, and the
block is recorded for that user. For an anonymous visitor the form goes on with the step-up
(actions/one_time_codes.py): `stepup_contact` (the e-mail or mobile registered with the bank, which
sends a code there) and `stepup_code` (the code, typed back). The code is checked by the bank, never
kept in a slot (the slot holds "verified"), and the question for it carries the `secret_input`
annotation, so the bot service stores the answer masked and Rasa's tracker store masks it too
(rasa_plugins/secret_answers.py). Only a verification the bank confirms lets `action_block_card`
block, for the customer the bank verified; otherwise nothing is blocked. Rasa's channels must be
reachable only by the bot service (docs/security.md), since metadata is whatever the caller sends.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction

from actions.bank import BankBackend, BankUnavailable, normalise_contact
from actions.base import Events, PoliteAction, annotate, apologise
from actions.one_time_codes import OneTimeCodes

FOUR_DIGITS = re.compile(r"(?<!\d)(\d)\s?(\d)\s?(\d)\s?(\d)(?!\s?\d)")
CANCEL = re.compile(r"\b(cancel|stop|never ?mind|forget it|don'?t block|do not block|found it)\b", re.I)
YES = re.compile(r"^\s*(y|yes|yeah|yep|yup|sure|ok(ay)?|please( do)?|go ahead|do it|block it|confirm(ed)?)\b", re.I)
NO = re.compile(r"^\s*(n|no|nope|nah|don'?t|do not|cancel|stop|wait)\b", re.I)
SIX_DIGITS = re.compile(r"(?<!\d)(\d{3})[\s-]?(\d{3})(?![\s-]?\d)")
FORM_SLOTS = ("card_last4", "block_confirmed", "stepup_contact", "stepup_code")
STEPUP_SLOTS = ("stepup_contact", "stepup_code")
SECRET = "one_time_code"  # the `secret_input` annotation of the question whose answer is masked
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


def extract_code(text: Any) -> str | None:
    """The 6-digit code in what the visitor typed ("123456", "123 456"), or None."""
    groups = {"".join(m.groups()) for m in SIX_DIGITS.finditer(str(text or ""))}
    return groups.pop() if len(groups) == 1 else None


def _stop_form() -> dict[str, Any]:
    return {"card_last4": None, "block_confirmed": False, "stepup_contact": None, "stepup_code": None,
            "requested_slot": None}


def _cancelled(value: Any, tracker: Tracker) -> bool:
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return intent == "deny" or bool(CANCEL.search(str(value or "")))


class ValidateBlockCardForm(FormValidationAction):
    def __init__(self, codes: OneTimeCodes):
        self.codes = codes

    def name(self) -> str:
        return "validate_block_card_form"

    async def required_slots(self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker,
                             domain: dict) -> list[str]:
        """A customer the host site verified skips the step-up questions. (A stopped form, with
        `block_confirmed` False, keeps the domain's list: rasa_sdk then leaves the stop in place.)"""
        if verified_user(tracker) is not None and tracker.get_slot("block_confirmed") is not False:
            return [slot for slot in domain_slots if slot not in STEPUP_SLOTS]
        return domain_slots

    def validate_card_last4(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        last4 = extract_last4(value)
        if last4 is not None:
            return {"card_last4": last4}
        if _cancelled(value, tracker):
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
        return {"block_confirmed": answer} if answer else _stop_form()

    async def validate_stepup_contact(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        """The registered e-mail or mobile: the bank sends a code there if it matches the card's holder."""
        if _cancelled(value, tracker):
            return _stop_form()
        last4 = extract_last4(tracker.get_slot("card_last4"))
        if normalise_contact(str(value or "")) is None or last4 is None:
            dispatcher.utter_message(response="utter_invalid_stepup_contact")
            return {"stepup_contact": None}
        started = await asyncio.to_thread(self.codes.start, tracker.sender_id, str(value), last4)
        if started["status"] == "locked":
            dispatcher.utter_message(response="utter_stepup_locked")
            annotate(dispatcher, error="stepup_locked", action=self.name())
            return _stop_form()
        return {"stepup_contact": "given"}  # not the address itself: the slot needs no personal data

    async def validate_stepup_code(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict
    ) -> dict[str, Any]:
        """The code, checked by the bank; only well-formed codes count as attempts."""
        code = extract_code(value)
        if code is None:
            if _cancelled(value, tracker):
                return _stop_form()
            dispatcher.utter_message(response="utter_invalid_stepup_code")
            return {"stepup_code": None}
        checked = await asyncio.to_thread(self.codes.verify, tracker.sender_id, code)
        if checked["status"] == "verified":
            return {"stepup_code": "verified"}
        if checked["status"] == "wrong":
            dispatcher.utter_message(response="utter_stepup_code_wrong", attempts_left=checked["attempts_left"])
            return {"stepup_code": None}
        dispatcher.utter_message(response="utter_stepup_locked" if checked["status"] == "locked"
                                 else "utter_stepup_code_expired")
        annotate(dispatcher, error=f"stepup_{checked['status']}", action=self.name())
        return _stop_form()

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - a validation bug must not become an HTTP 500
            apologise(dispatcher, self.name())
            return [SlotSet("requested_slot", None)]


class ActionAskStepupCode(Action):
    """The form's question for the code: its answer is a secret (masked by the service and the tracker store)."""

    def name(self) -> str:
        return "action_ask_stepup_code"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        dispatcher.utter_message(response="utter_ask_stepup_code")
        annotate(dispatcher, secret_input=SECRET)
        return []


class ActionBlockCard(PoliteAction):
    """Runs when the form ends: block the card if the customer confirmed, else say nothing changed."""

    def __init__(self, bank: BankBackend, codes: OneTimeCodes):
        self.bank = bank
        self.codes = codes

    def name(self) -> str:
        return "action_block_card"

    async def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict) -> Events:
        reset = [SlotSet(slot, None) for slot in FORM_SLOTS]
        last4 = extract_last4(tracker.get_slot("card_last4"))
        if tracker.get_slot("block_confirmed") is not True or last4 is None:
            dispatcher.utter_message(response="utter_block_cancelled")
            return reset
        try:
            customer = verified_user(tracker)
            if customer is None and tracker.get_slot("stepup_code") == "verified":
                # the bank's word, not the slot's: the verification is consumed by this one block
                customer = await asyncio.to_thread(self.codes.consume, tracker.sender_id, last4)
            if customer is None:  # an anonymous visitor who did not pass the step-up: never act on an account
                dispatcher.utter_message(text=NEEDS_IDENTITY)
                annotate(dispatcher, error="identity_required", action=self.name())
                return reset
            block = await asyncio.to_thread(self.bank.block_card, customer, last4)
        except BankUnavailable:
            dispatcher.utter_message(response="utter_block_failed", card_last4=last4)
            annotate(dispatcher, error="bank_unavailable", action=self.name())
            return reset
        response = "utter_card_already_blocked" if block["already_blocked"] else "utter_card_blocked"
        dispatcher.utter_message(response=response, card_last4=last4, reference=block["reference"])
        annotate(dispatcher, card_block={k: block[k] for k in ("reference", "card_last4", "status", "already_blocked")})
        return reset
