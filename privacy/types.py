"""The values the PII engine hands out: what was found (`Entity`) and what a text became (`Redaction`).

Kinds are the typed placeholders the dialogue model learns from (`[NAME]`, `[CARD]` …, see
finetune/templates.py); offsets are Python string indices into the text that was analysed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS: tuple[str, ...] = ("NAME", "EMAIL", "PHONE", "CARD", "CVV", "IBAN", "ACCOUNT", "ADDRESS", "DOB",
                          "NATIONAL_ID", "IP", "PIN")
LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "es", "zh")


@dataclass(frozen=True)
class Entity:
    """One piece of personal data: `text[start:end]` is a `kind` (one of KINDS), found with `score`."""

    kind: str
    start: int
    end: int
    score: float = 1.0

    def as_dict(self) -> dict:
        return {"kind": self.kind, "start": self.start, "end": self.end, "score": round(self.score, 3)}


@dataclass
class Redaction:
    """A text with every entity replaced by its placeholder; `entities` index the ORIGINAL text."""

    text: str
    entities: list[Entity] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for e in self.entities:
            out[e.kind] = out.get(e.kind, 0) + 1
        return out

    def as_dict(self) -> dict:
        return {"text": self.text, "entities": [e.as_dict() for e in self.entities]}


__all__ = ["KINDS", "LANGUAGES", "Entity", "Redaction"]
