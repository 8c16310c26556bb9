"""The NLP engine Presidio runs on: spaCy's English pipeline for English, blank spaCy tokenizers for
the other languages (no named-entity model of theirs installs from the package registry).

Tokens feed Presidio's context-word enhancer; where a pipeline has no lemmatizer (blank ones, and
English with its tagger and lemmatizer switched off for speed) the lemma is the lower-cased token.
Models load once, in `load()`.
"""

from __future__ import annotations

import re

import spacy
from presidio_analyzer.nlp_engine import NlpArtifacts, SpacyNlpEngine

# A capitalised word that does not start a sentence: without one, a named-entity model finds no
# person here, and tokenizing alone (20x cheaper) gives Presidio all it needs.
_INNER_CAPITAL = re.compile(r"(?<![.!?:;]\s)(?<![.!?:;])(?<!^)(?<!\n)\b[A-Z][a-z'’-]+|\b[A-Z][a-z'’-]+\s+[A-Z][a-z'’-]+")


class BlankOrModelNlpEngine(SpacyNlpEngine):
    def __init__(self, languages, models: dict[str, str], disable: tuple[str, ...] = ()):
        super().__init__(models=[{"lang_code": lang, "model_name": models.get(lang, f"blank:{lang}")}
                                 for lang in languages])
        self._languages = tuple(languages)
        self._model_names = dict(models)
        self._disable = tuple(disable)

    def load(self) -> None:
        self.nlp = {}
        for lang in self._languages:
            name = self._model_names.get(lang)
            if name:
                try:
                    self.nlp[lang] = spacy.load(name, disable=list(self._disable))
                except OSError as exc:
                    raise RuntimeError(f"spaCy pipeline {name!r} is not installed: install it from "
                                       f"requirements/main.txt (pip install {name.replace('_', '-')})") from exc
            else:
                self.nlp[lang] = spacy.blank(lang)

    def process_text(self, text: str, language: str) -> NlpArtifacts:
        nlp = self.nlp[language]
        if language in self._model_names and not _INNER_CAPITAL.search(text):
            return self._doc_to_nlp_artifact(nlp.make_doc(text), language)
        return self._doc_to_nlp_artifact(nlp(text), language)

    def _doc_to_nlp_artifact(self, doc, language: str) -> NlpArtifacts:
        art = super()._doc_to_nlp_artifact(doc, language)
        art.lemmas = [t.lemma_.lower() or t.lower_ for t in doc]
        return art
