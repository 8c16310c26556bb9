"""The shape of the engine's own recognisers: a Presidio `LocalRecognizer` made of patterns, context
words and a validation step, one subclass per kind of personal data.

A pattern's named group `v` (when present) is the value; the rest of the match only anchors it. A
recogniser with `NEEDS_CONTEXT` keeps a match only when one of its context words occurs within
`WINDOW` characters before it (or `AFTER` characters after it). `validate` returns True (checksum
passed: score 1.0), False (drop) or None (keep the pattern's score). Context words are in every
language the engine supports, because one message can mix them ("Mein CVV ist 123").
"""

from __future__ import annotations

import re

from presidio_analyzer import LocalRecognizer, RecognizerResult


def words_regex(words) -> re.Pattern:
    """One case-insensitive regex matching any of `words` (longest first; word edges for Latin words)."""
    parts = []
    for w in sorted(set(words), key=len, reverse=True):
        esc = re.escape(w)
        if w[:1].isascii() and w[:1].isalnum():
            esc = r"(?<![^\W\d_])" + esc
        if w[-1:].isascii() and w[-1:].isalnum():
            esc += r"(?![^\W\d_])"
        parts.append(esc)
    return re.compile("|".join(parts), re.IGNORECASE)


class ContextPatternRecognizer(LocalRecognizer):
    ENTITY = ""
    PATTERNS: tuple[tuple[str, float], ...] = ()
    CONTEXT: tuple[str, ...] = ()
    NEEDS_CONTEXT = False
    WINDOW = 40
    AFTER = 0
    FLAGS = re.IGNORECASE
    CONTEXT_BOOST = 0.35

    def __init__(self, supported_language: str = "en"):
        super().__init__(supported_entities=[self.ENTITY], supported_language=supported_language,
                         context=list(self.CONTEXT), name=f"{type(self).__name__}_{supported_language}")

    def load(self) -> None:
        self._patterns = [(re.compile(p, self.FLAGS), s) for p, s in self.PATTERNS]
        self._context = words_regex(self.CONTEXT) if self.CONTEXT else None

    def validate(self, value: str) -> bool | None:
        return None

    def has_context(self, text: str, start: int, end: int) -> bool:
        if self._context is None:
            return False
        before = text[max(0, start - self.WINDOW):start]
        after = text[end:end + self.AFTER] if self.AFTER else ""
        return bool(self._context.search(before) or (after and self._context.search(after)))

    def spans(self, text: str):
        """(start, end, pattern score) of every pattern match, value group preferred."""
        for rx, score in self._patterns:
            for m in rx.finditer(text):
                s, e = m.span("v") if "v" in rx.groupindex and m.group("v") is not None else m.span()
                if e > s:
                    yield s, e, score

    def analyze(self, text: str, entities, nlp_artifacts=None) -> list[RecognizerResult]:
        out: list[RecognizerResult] = []
        for s, e, score in self.spans(text):
            ok = self.validate(text[s:e])
            if ok is False:
                continue
            context = self.has_context(text, s, e)
            if self.NEEDS_CONTEXT and not context:
                continue
            final = 1.0 if ok else min(1.0, score + (self.CONTEXT_BOOST if context else 0.0))
            out.append(RecognizerResult(self.ENTITY, s, e, final, recognition_metadata={
                RecognizerResult.RECOGNIZER_NAME_KEY: self.name,
                RecognizerResult.RECOGNIZER_IDENTIFIER_KEY: self.id,
                RecognizerResult.IS_SCORE_ENHANCED_BY_CONTEXT_KEY: True}))
        return out
