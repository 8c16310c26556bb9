"""Filling the placeholders a learnt reply keeps ("Thank you, [NAME].") from the conversation's slots.

The action server calls `fill_placeholders(reply, tracker.slots)`. A placeholder with no slot value
is dropped and the sentence tidied ("Thank you, [NAME]." → "Thank you."), and reported, so the
action can prefer another candidate. A PIN, security code, national id or IP address is never
filled: a bot must not repeat one. A numbered placeholder (`[NAME_2]`, a second person in the
conversation; see privacy.pseudonyms) has no slot and is treated as unfilled.
"""

from __future__ import annotations

import re

SLOTS: dict[str, tuple[str, ...]] = {
    "NAME": ("customer_name", "name", "full_name", "first_name"),
    "EMAIL": ("email", "customer_email"),
    "PHONE": ("phone", "phone_number"),
    "CARD": ("card_last4",),
    "ACCOUNT": ("account_number", "account"),
    "IBAN": ("iban",),
    "ADDRESS": ("address", "postal_address"),
    "DOB": ("date_of_birth", "dob"),
    "PIN": (),
    "CVV": (),
    "NATIONAL_ID": (),
    "IP": (),
}
FORMATS = {"CARD": "ending in {}"}
PLACEHOLDER = re.compile(r"\[(" + "|".join(SLOTS) + r")(_\d+)?\]")


def fill_placeholders(text: str, slots: dict) -> tuple[str, list[str]]:
    """(filled text, placeholder types that had no value), in order of appearance."""
    missing: list[str] = []

    def repl(m: re.Match) -> str:
        kind = m.group(1)
        value = None if m.group(2) else next((slots[s] for s in SLOTS[kind] if slots.get(s) not in (None, "")), None)
        if value is None:
            missing.append(kind)
            return ""
        return FORMATS.get(kind, "{}").format(value)

    filled = PLACEHOLDER.sub(repl, text)
    if missing:
        filled = re.sub(r"\s+([,.!?;:])", r"\1", filled)
        filled = re.sub(r",([.!?])", r"\1", filled)
        filled = re.sub(r"\s{2,}", " ", filled).strip()
    return filled, missing


def choose_reply(selection: dict, slots: dict, max_drop: float = 0.05) -> tuple[str, str]:
    """The reply to send for a response-selector result: (filled text, the template it came from).

    The best candidate whose placeholders all have values wins, if it scores within `max_drop` of the
    top one; otherwise the top reply is sent with its unfillable placeholders dropped and tidied.
    """
    top_text = selection["reply"]
    top_score = float(selection.get("score", 0.0))
    for cand in selection.get("candidates") or [{"text": top_text, "score": top_score}]:
        if float(cand.get("score", 0.0)) < top_score - max_drop:
            break
        filled, missing = fill_placeholders(cand["text"], slots)
        if not missing:
            return filled, cand["text"]
    return fill_placeholders(top_text, slots)[0], top_text
