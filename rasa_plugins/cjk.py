"""Chinese text helpers shared by Rasa's tokenizer and the knowledge base's BM25: jieba segmentation.

Pure Python + jieba (no Rasa, no numpy), so both runtimes import it. jieba's dictionary loads once per
process, on first use (about 0.7 s; jieba caches it under the temp directory), without its stderr banner.
"""

from __future__ import annotations

import logging
import re
import threading

# CJK unified ideographs (with extension A and the compatibility block)
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORDLIKE = re.compile(r"\w", re.UNICODE)
_READY = threading.Lock()
_loaded = False


def has_cjk(text: str) -> bool:
    return CJK.search(text) is not None


_LATIN_WORD = re.compile(r"[A-Za-z]+")


def script_language(text: str) -> str:
    """"zh" when Chinese characters are at least as many as Latin words (`PIN码被锁了`, `怎么绑定Apple Pay`),
    else "other": the per-message language of the intent model's per-language weights. Script only, no
    detector model: it is computed on every message and training example, in both runtimes."""
    han = len(CJK.findall(text))
    return "zh" if han and han >= len(_LATIN_WORD.findall(text)) else "other"


def initialise() -> None:
    """Load jieba's dictionary now (it otherwise loads on the first Chinese text)."""
    global _loaded
    with _READY:
        if _loaded:
            return
        import jieba

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        _loaded = True


def segment(text: str) -> list[tuple[str, int]]:
    """jieba's words of `text` with their start offsets; punctuation and spaces left out."""
    initialise()
    import jieba

    return [(word, start) for word, start, _ in jieba.tokenize(text) if _WORDLIKE.search(word)]


def words(text: str) -> list[str]:
    """The words of `text`: jieba's for runs holding Chinese characters, whitespace-separated otherwise."""
    out: list[str] = []
    for chunk in text.split():
        if has_cjk(chunk):
            out.extend(word for word, _ in segment(chunk))
        else:
            out.append(chunk)
    return out


def search_terms(text: str, stopwords: frozenset[str] = frozenset()) -> list[str]:
    """Keyword-search terms: `words`, plus the single characters of each Chinese word of two or more.

    Segmentation differs between a question and an article (卡 / 银行卡, 丢 / 丢失); the characters let them
    still meet, and BM25's idf keeps common characters cheap. A word in `stopwords` is left out whole.
    """
    out: list[str] = []
    for word in words(text):
        if word in stopwords:
            continue
        out.append(word)
        if len(word) > 1 and has_cjk(word):
            out.extend(char for char in word if CJK.match(char))
    return out
