"""Which of the engine's languages one message is written in.

Two steps: a message whose letters are at least a fifth Han characters is Chinese (cheap and exact
for this set of languages); anything else goes to lingua (`lingua-language-detector`, restricted to
en/de/fr/es so it is fast and never answers a language the engine has no recognisers for). Very short
or letter-less text ("4111 1111 1111 1111", "ok") falls back to the caller's default. The detector
is built once per process, on first use.
"""

from __future__ import annotations

import threading

_lock = threading.Lock()
_detector = None
_CODES: dict = {}


def han_share(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 0.0
    return sum(1 for c in letters if "\u3400" <= c <= "\u9fff" or "\uf900" <= c <= "\ufaff") / len(letters)


def _lingua():
    global _detector
    if _detector is None:
        with _lock:
            if _detector is None:
                from lingua import Language, LanguageDetectorBuilder

                langs = {Language.ENGLISH: "en", Language.GERMAN: "de", Language.FRENCH: "fr",
                         Language.SPANISH: "es"}
                _CODES.update({lang: code for lang, code in langs.items()})
                _detector = LanguageDetectorBuilder.from_languages(*langs).with_preloaded_language_models().build()
    return _detector


def warm_up() -> None:
    _lingua()


def detect(text: str, default: str = "en", languages: tuple[str, ...] = ("en", "de", "fr", "es", "zh")) -> str:
    """The language code of `text` among `languages`; `default` when the text gives no clue."""
    if "zh" in languages and han_share(text) >= 0.2:
        return "zh"
    if sum(1 for c in text if c.isalpha()) < 3:
        return default
    found = _lingua().detect_language_of(text)
    code = _CODES.get(found) if found is not None else None
    return code if code in languages else default
