"""Quick-reply buttons are mapped server-side: a click names a button, the service decides its payload.

The buttons the bot offered are stored with its turns (the `buttons` column), so every replica of the
service sees the same offer. A `button` frame names the clicked button by `payload` or `title` (what
the widget sends) or by its position `button_id`; the service looks it up among the buttons of the
bot's latest answer and gives Rasa that button's stored payload, while the transcript stores its
stored title. A click matching no offered button is treated as typed text (its title; escaped when it
starts with `/`), so a forged payload such as `/affirm` can never reach Rasa as an intent command.
"""

from __future__ import annotations

from typing import Any


def pick(offered: list[dict], event: dict) -> dict | None:
    """The offered button the click names, or None."""
    button_id = event.get("button_id")
    if isinstance(button_id, int) and not isinstance(button_id, bool) and 0 <= button_id < len(offered):
        return offered[button_id]
    for key in ("payload", "title"):
        value = event.get(key)
        if isinstance(value, str):
            for button in offered:
                if button.get(key) == value:
                    return button
    return None


def click_text(event: dict) -> Any:
    """What the customer saw on the button they clicked (the text stored when no offer matches)."""
    return event.get("title") if isinstance(event.get("title"), str) else event.get("text")
