"""The "That solved it" quick reply the bot service offers after a knowledge-base answer.

The service adds the button to KB answers itself (Rasa and the actions are unchanged), and a click
on it never reaches Rasa: the channel stores the customer turn with the button's payload as
`rasa_text` (that stored payload is what the resolution metric reads as "confirmed",
bot/console/resolution.py) and answers with a short thanks of its own. Invariants: the button is
offered only on answers whose annotation says they came from the knowledge base; it is stored with
the answer's other buttons, so the server-side button lookup (bot/buttons.py) finds it on every
replica; an empty `solved_button_title` turns the offer off.
"""

from __future__ import annotations

SOLVED_PAYLOAD = "/supportbot_solved"
SOLVED_ACTION = "supportbot_solved"  # the stored action of the thanks, so transcripts say who answered
KB_KINDS = ("kb", "kb_full_article")


def offer_solved(replies: list[dict], title: str) -> list[dict]:
    """The replies with the button added to each KB answer (in place, and returned)."""
    if not title:
        return replies
    for reply in replies:
        if reply.get("answer_kind") in KB_KINDS:
            buttons = [b for b in reply.get("buttons") or [] if b.get("payload") != SOLVED_PAYLOAD]
            reply["buttons"] = [*buttons, {"title": title, "payload": SOLVED_PAYLOAD}]
    return replies


def is_solved(rasa_text: str | None) -> bool:
    """Whether a customer turn is the click on the button (what Rasa would have been given)."""
    return rasa_text == SOLVED_PAYLOAD
