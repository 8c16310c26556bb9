"""Detecting and redacting personal data in support conversations (en, de, fr, es, zh).

Cheap to import: the Presidio analyser, spaCy and the language detector load in
`PiiEngine.warm_up()` (or on first use), once per engine. `get_engine()` is the process-wide engine
every boundary shares, so a process loads the models once. See docs/privacy.md, "Detection".
"""

from __future__ import annotations

import threading

from privacy.pseudonyms import Pseudonyms
from privacy.types import KINDS, LANGUAGES, Entity, Redaction

_shared = None
_shared_lock = threading.Lock()


def __getattr__(name: str):
    if name == "PiiEngine":
        from privacy.engine import PiiEngine

        return PiiEngine
    raise AttributeError(name)


def get_engine():
    """The process-wide engine (built on first call; models load on its first use)."""
    global _shared
    if _shared is None:
        with _shared_lock:
            if _shared is None:
                from privacy.engine import PiiEngine

                _shared = PiiEngine()
    return _shared


__all__ = ["KINDS", "LANGUAGES", "Entity", "Redaction", "Pseudonyms", "PiiEngine", "get_engine"]
