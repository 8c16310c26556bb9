"""Redacting whole conversations (the training-data path and exports).

`redact_conversations` returns new conversation dicts (`{"turns": [{"text", ...}, ...], ...}`)
with every turn's text redacted, placeholders consistent inside each conversation, and the
placeholders put in counted by kind (`{"[NAME]": 2, ...}`, every kind present). Input is never
modified. `Redactor` does the same one text at a time for callers that stream (console exports).
"""

from __future__ import annotations

from collections import Counter

from privacy.pseudonyms import Pseudonyms
from privacy.types import KINDS


class Redactor:
    """Counts placeholders across texts; one `Pseudonyms` per conversation (`new_conversation`)."""

    def __init__(self, engine=None) -> None:
        if engine is None:
            from privacy import get_engine

            engine = get_engine()
        self.engine = engine
        self.counts: Counter[str] = Counter()
        self.pseudonyms = Pseudonyms()

    def new_conversation(self) -> None:
        self.pseudonyms = Pseudonyms()

    def text(self, text: str, previous: str | None = None) -> str:
        """`text` redacted; `previous` is the turn before it in the conversation (what was asked)."""
        result = self.engine.redact(text, pseudonyms=self.pseudonyms, previous=previous)
        self.counts.update(e.kind for e in result.entities)
        return result.text

    def report(self) -> dict[str, int]:
        return {f"[{k}]": self.counts.get(k, 0) for k in KINDS}


def redact_conversations(conversations: list[dict], engine=None) -> tuple[list[dict], dict[str, int]]:
    redactor = Redactor(engine)
    out = []
    for conv in conversations:
        redactor.new_conversation()
        turns, previous = [], None
        for turn in conv["turns"]:
            turns.append({**turn, "text": redactor.text(turn["text"], previous)})
            previous = turn["text"]
        out.append({**conv, "turns": turns})
    return out, redactor.report()
