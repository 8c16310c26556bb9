"""How `action_answer_question` decides what to say: KB article, dialogue-model reply, or a person.

Plain functions over plain data (the retriever's hit dicts, the NLU's latest message), so the
policy is easy to read and to test. The rule of the issue: answer from the knowledge base when
either the NLU is confident about a banking intent or the retrieval score is high; when both are
low, say so and offer a human; the fine-tuned response selector gets the turn in between when it
is confident.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from actions.catalog import KbCatalog

NLU_FALLBACK = "nlu_fallback"
MAX_QUERY_CHARS = 1000


class SearchesKb(Protocol):
    def search(self, query: str, k: int = 5, filters: dict | None = None) -> list[dict]: ...


@dataclass(frozen=True)
class Thresholds:
    kb_min_score: float = 0.45
    nlu_min_confidence: float = 0.5
    response_min_score: float = 0.6

    @classmethod
    def from_settings(cls, settings: Any) -> "Thresholds":
        return cls(settings.kb_min_score, settings.nlu_min_confidence, settings.response_min_score)


@dataclass(frozen=True)
class Understanding:
    """What the NLU made of the customer's latest message."""

    text: str
    intent: str | None
    confidence: float

    @classmethod
    def from_message(cls, latest_message: dict | None) -> "Understanding":
        message = latest_message or {}
        intent = message.get("intent") or {}
        return cls(
            text=str(message.get("text") or ""),
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
        )

    @property
    def is_payload(self) -> bool:
        """A button payload or `/intent` shortcut rather than words the customer typed."""
        return self.text.startswith("/")

    def nlu_confident(self, thresholds: Thresholds) -> bool:
        return self.intent not in (None, NLU_FALLBACK) and self.confidence >= thresholds.nlu_min_confidence


@dataclass
class Decision:
    kind: str  # "kb" | "responses" | "low_confidence"
    hit: dict | None = None
    hits: list[dict] = field(default_factory=list)
    selection: dict | None = None
    guided: bool = False  # the hit was found through the NLU intent's article


def query_for(understanding: Understanding, catalog: KbCatalog) -> str:
    """The text to search with: the customer's words, or the intent's article title for payloads."""
    if understanding.is_payload:
        article = catalog.get(understanding.intent)
        if article is not None:
            return article.title
        return (understanding.intent or understanding.text.lstrip("/")).replace("_", " ").rstrip("?")
    return understanding.text[:MAX_QUERY_CHARS]


def _same_article(hit: dict, url: str) -> bool:
    return bool(url) and hit.get("url") == url


def _top_score(hits: list[dict]) -> float:
    return float(hits[0].get("score", 0.0)) if hits else 0.0


def find_hits(
    retriever: SearchesKb,
    understanding: Understanding,
    catalog: KbCatalog,
    thresholds: Thresholds,
    previous: str | None = None,
    k: int = 5,
) -> tuple[list[dict], dict | None, bool]:
    """Search the KB; returns (hits, the hit to answer with or None, whether the intent guided it).

    When the NLU is confident about an intent that has an article, that article's passage wins even
    when another article scored higher; if the customer's wording did not retrieve it at all, a
    second search with the article's title finds its best passage. When neither the NLU nor the
    search is confident, a follow-up ("is there a fee for that?") is searched again together with
    the customer's previous message, and that result is used if it clears the KB threshold.
    """
    hits = retriever.search(query_for(understanding, catalog), k=k)
    confident = understanding.nlu_confident(thresholds)
    article = catalog.get(understanding.intent) if confident else None
    if article is not None:
        match = next((h for h in hits if _same_article(h, article.url)), None)
        if match is None:
            by_title = retriever.search(article.title, k=k)
            match = next((h for h in by_title if _same_article(h, article.url)), None)
        if match is not None:
            return hits, match, True
    if not confident and previous and not understanding.is_payload and _top_score(hits) < thresholds.kb_min_score:
        in_context = retriever.search(f"{previous[:MAX_QUERY_CHARS]} {understanding.text[:MAX_QUERY_CHARS]}", k=k)
        if _top_score(in_context) >= thresholds.kb_min_score:
            hits = in_context
    return hits, (hits[0] if hits else None), False


def decide(
    understanding: Understanding,
    hits: list[dict],
    best: dict | None,
    guided: bool,
    selection: dict | None,
    thresholds: Thresholds,
) -> Decision:
    """Pick the reply: KB when NLU or retrieval is confident, else a confident dialogue-model reply,
    else admit it and offer a person."""
    kb_confident = best is not None and float(best.get("score", 0.0)) >= thresholds.kb_min_score
    if best is not None and (guided or kb_confident or understanding.nlu_confident(thresholds)):
        return Decision("kb", best, hits, selection, guided)
    if selection and selection.get("reply") and float(selection.get("score", 0.0)) >= thresholds.response_min_score:
        return Decision("responses", None, hits, selection)
    return Decision("low_confidence", None, hits, selection)
