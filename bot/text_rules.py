"""What a customer's text may contain: valid Unicode, no NUL, no control characters but tab and newlines.

Everything a client sends that is stored or forwarded (message text, button titles, client message
ids, contact addresses) passes `valid_text` first. A lone surrogate (which JSON can carry as
`"\\ud800"`), a NUL byte or a control character would make the store raise (SQLite cannot encode a
surrogate, PostgreSQL refuses NUL in text); rejecting them at the door gives the client a clear,
non-retryable `invalid_text` error instead of an internal error the widget would resend forever.
"""

from __future__ import annotations

import re
from typing import Any

from bot.errors import InvalidText

# C0 controls but \t \n \r, DEL, C1 controls, lone surrogates and the two non-characters U+FFFE/FFFF
_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")


def bad_character(value: str) -> str | None:
    """A description of the first character that may not be stored, or None when all are fine."""
    m = _BAD.search(value)
    if m is None:
        return None
    ch = m.group()
    kind = "an unpaired surrogate" if "\ud800" <= ch <= "\udfff" else "a control character"
    return f"{kind} (U+{ord(ch):04X}) at position {m.start()}"


def valid_text(value: Any, field: str = "text") -> str:
    """`value` unchanged when it is a string of storable characters; raises InvalidText otherwise."""
    if not isinstance(value, str):
        raise InvalidText(f"`{field}` must be a string.", field=field)
    problem = bad_character(value)
    if problem is not None:
        raise InvalidText(f"`{field}` contains {problem}, which cannot be stored; remove it and send again.",
                          field=field)
    return value


def escape_command(text: str) -> str:
    """Text whose first character is `/` reaches Rasa as text, never as an intent command.

    Rasa's message parser treats a message starting with `/` as `/intent{entities}` and skips NLU; a
    customer could thus trigger any intent (and set any entity) by typing it. A zero-width space in
    front keeps the text readable in Rasa's tracker and makes the parser see ordinary text.
    """
    return "\u200b" + text if text.startswith("/") else text
