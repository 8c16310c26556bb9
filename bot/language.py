"""The language of a customer's message, for the conversation's language (stored, shown, sent to Rasa).

A maintained detector decides: privacy.language (Han characters first, else lingua among the PII
engine's languages). A message too short or without letters to tell ("ok", "4821", "👍") gets None and
does not count towards the conversation's majority (bot/conversations.py `majority_language`).
`SUPPORTED` are the languages the widget and the demo bot's responses come in; a conversation in another
language keeps its detected code (the console shows it) and is answered in the default one.
"""

from __future__ import annotations

from privacy.language import detect

SUPPORTED = ("en", "zh")


def message_language(text: str) -> str | None:
    """`zh`, `en` (or another of privacy.language's codes), or None when the text gives no clue."""
    return detect(text or "", default="") or None


def reply_language(conversation_language: str | None, default: str = "en") -> str:
    """The language the bot answers in: the conversation's when the bot has responses in it."""
    return conversation_language if conversation_language in SUPPORTED else default
