"""Conversations through the PII engine: the one function every boundary that writes or learns from
conversation text uses (training data, log-import archives, exports, the storage-policy job).

Each conversation is redacted as a whole (`PiiEngine.redact_many`), so a name keeps one placeholder
across its turns and an answer to "what is your name?" is read as a name. Counts are by
placeholder (`{"[NAME]": 3, ...}`), never the values.
"""

from __future__ import annotations

from collections import Counter

from privacy.types import KINDS


def engine_or_shared(engine=None):
    if engine is not None:
        return engine
    from privacy import get_engine

    return get_engine()


def redact_turns(texts: list[str], engine=None, counts: dict[str, int] | None = None) -> list[str]:
    """One conversation's texts, in order, redacted; `counts` (if given) adds the placeholders put in."""
    out = []
    for red in engine_or_shared(engine).redact_many([t or "" for t in texts]):
        out.append(red.text)
        if counts is not None:
            for kind, n in red.counts().items():
                counts[f"[{kind}]"] = counts.get(f"[{kind}]", 0) + n
    return out


def redact_conversations(conversations: list[dict], engine=None) -> tuple[list[dict], dict[str, int]]:
    """New `{"conversation_id", "turns": [{"speaker", "text", ...}]}` dicts with every turn redacted,
    and how many of each placeholder went in."""
    engine = engine_or_shared(engine)
    counts = {f"[{k}]": 0 for k in KINDS}
    out = []
    for conv in conversations:
        texts = redact_turns([t.get("text", "") for t in conv["turns"]], engine, counts)
        out.append({**conv, "turns": [{**t, "text": x} for t, x in zip(conv["turns"], texts)]})
    return out, counts


def redact_text(value: str, engine=None) -> str:
    """One stand-alone text, redacted (its first name is [NAME])."""
    if not isinstance(value, str) or not value.strip():
        return value
    return engine_or_shared(engine).redact(value).text


class Redactor:
    """Text by text through the engine, for exports: `text(value, previous)` gives the redacted text
    (`previous`: the turn before it, which tells an answer to "your name?" from a word), `counts`
    the placeholders put in by kind. `new_conversation()` starts a new set of pseudonyms."""

    def __init__(self, engine=None):
        from privacy.pseudonyms import Pseudonyms

        self._new = Pseudonyms
        self.engine = engine_or_shared(engine)
        self.counts: Counter[str] = Counter()
        self.pseudonyms = Pseudonyms()

    def new_conversation(self) -> None:
        self.pseudonyms = self._new()

    def text(self, value: str, previous: str | None = None) -> str:
        if not value or not value.strip():
            return value
        red = self.engine.redact(value, pseudonyms=self.pseudonyms, previous=previous)
        self.counts.update(red.counts())
        return red.text
