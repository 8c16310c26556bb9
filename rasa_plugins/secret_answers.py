"""Answers to secret questions never reach Rasa's tracker store in clear.

When the bot asks for a secret (the one-time code of the card block's step-up), the action annotates
its question with `{"supportbot": {"secret_input": KIND}}` (actions/block_card.py). The customer's
next message is the secret: Rasa handles it in memory (the form's validator checks it with the bank),
and before the tracker is saved `mask_secret_answer` replaces, in that user event, the text, the
parse data's text, the entity values and the sentence embedding, and in the events after it every
slot value that holds the text or part of it, with the placeholder `[ONE_TIME_CODE]` (`[KIND]`
upper-cased). It runs before the event broker and the SQL store see the events, so neither keeps
the secret; the bot service stores the same placeholder in its transcript (bot/conversations.py).

Runs in Rasa's Python 3.10 runtime; imports nothing of ours.
"""

from __future__ import annotations

from typing import Any, Iterable

from rasa.shared.core.events import BotUttered, SlotSet, UserUttered

EMBEDDING_KEY = "supportbot_embedding"


def placeholder(kind: str) -> str:
    return f"[{kind.upper()}]"


def secret_kind(bot: BotUttered) -> str | None:
    """The `secret_input` a bot message's annotation asks for, if any."""
    custom = (bot.data or {}).get("custom")
    ours = custom.get("supportbot") if isinstance(custom, dict) else None
    kind = ours.get("secret_input") if isinstance(ours, dict) else None
    return kind if isinstance(kind, str) and kind else None


def _contains(value: Any, secret: str) -> bool:
    return isinstance(value, str) and bool(secret) and (value == secret or value in secret or secret in value)


def mask_secret_answer(events: Iterable[Any]) -> bool:
    """Mask the newest user message if the bot's messages right before it asked for a secret.

    Changes the events in place; True when it masked something."""
    events = list(events)
    last_user = next((i for i in range(len(events) - 1, -1, -1) if isinstance(events[i], UserUttered)), None)
    if last_user is None:
        return False
    kind = None
    for event in reversed(events[:last_user]):
        if isinstance(event, UserUttered):
            break
        if isinstance(event, BotUttered) and kind is None:
            kind = secret_kind(event)
    user = events[last_user]
    if kind is None or not user.text or user.text == placeholder(kind):
        return False
    secret, mask = user.text, placeholder(kind)
    user.text = mask
    user.parse_data["text"] = mask
    user.parse_data.pop(EMBEDDING_KEY, None)
    for entities in (user.entities, user.parse_data.get("entities") or []):
        for entity in entities:
            if _contains(entity.get("value"), secret):
                entity["value"] = mask
    for event in events[last_user + 1:]:
        if isinstance(event, SlotSet) and _contains(event.value, secret):
            event.value = mask
    return True
