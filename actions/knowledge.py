"""How `action_answer_question` decides what to say: KB article, dialogue-model reply, or a person.

Plain functions over plain data (the retriever's hit dicts, the NLU's latest message), so the
policy is easy to read and to test. A message of a flow the support logs cover (the serving
response model scores its reply at or above the model's calibrated `learnt_min_score`) gets the
learnt reply first. Otherwise the rule of the issue: answer from the knowledge base when
either the NLU is confident about a banking intent or the retrieval score is high; when both are
low, say so and offer a human; the fine-tuned response selector gets the turn in between when it
is confident. When the NLU says no intent covers the message (`out_of_scope`), the knowledge base
still answers a banking question it scores highly (`kb_out_of_scope_min_score`); anything else gets
a polite refusal, never a low-score article.

Every search uses the message's one embedding (`vector`: Rasa's, or encoded once by the caller):
the intent's article is looked up with it too (restricted to that article), not by a second encode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from actions.catalog import KbCatalog

NLU_FALLBACK = "nlu_fallback"
OUT_OF_SCOPE = "out_of_scope"
NOT_INTENTS = (NLU_FALLBACK, OUT_OF_SCOPE, "oos")  # never offered as "did you mean"
MAX_QUERY_CHARS = 1000


class SearchesKb(Protocol):
    def search(self, query: str, k: int = 5, filters: dict | None = None, mode: str | None = None,
               vector: np.ndarray | None = None, language: str | None = None) -> list[dict]: ...


@dataclass(frozen=True)
class Thresholds:
    kb_min_score: float = 0.45
    nlu_min_confidence: float = 0.5
    response_min_score: float = 0.6
    kb_out_of_scope_min_score: float = 0.5
    kb_alternative_ratio: float = 0.5

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        return cls(settings.kb_min_score, settings.nlu_min_confidence, settings.response_min_score,
                   settings.kb_out_of_scope_min_score, settings.kb_alternative_ratio)


def real_intents(ranking: list | None, n: int = 2) -> tuple[tuple[str, float], ...]:
    """The first `n` (intent, confidence) of an NLU ranking, the fallback and out-of-scope labels skipped."""
    return tuple((str(r["name"]), float(r.get("confidence") or 0.0)) for r in ranking or []
                 if isinstance(r, dict) and r.get("name") and r["name"] not in NOT_INTENTS)[:n]


def runner_up(ranked: tuple[tuple[str, float], ...], ratio: float) -> str | None:
    """The second of `ranked` when its confidence is at least `ratio` times the first's (the NLU could not tell
    the two apart); None for a lone or a distant runner-up, and for a ratio above 1 (off)."""
    if len(ranked) < 2 or ratio > 1.0:
        return None
    (_, best), (name, second) = ranked[:2]
    return name if best > 0.0 and second >= ratio * best else None


@dataclass(frozen=True)
class Understanding:
    """What the NLU made of the customer's latest message."""

    text: str
    intent: str | None
    confidence: float
    # the two best real intents of the ranking (fallback and out-of-scope labels skipped), with confidences
    ranked: tuple[tuple[str, float], ...] = ()

    @classmethod
    def from_message(cls, latest_message: dict | None) -> Understanding:
        message = latest_message or {}
        intent = message.get("intent") or {}
        return cls(
            text=str(message.get("text") or ""),
            intent=intent.get("name"),
            confidence=float(intent.get("confidence") or 0.0),
            ranked=real_intents(message.get("intent_ranking")),
        )

    def alternative(self, ratio: float) -> str | None:
        """The runner-up intent worth offering as "did you mean" (`runner_up`); never for a payload."""
        return None if self.is_payload else runner_up(self.ranked, ratio)

    @property
    def is_payload(self) -> bool:
        """A button payload or `/intent` shortcut rather than words the customer typed."""
        return self.text.startswith("/")

    @property
    def out_of_scope(self) -> bool:
        """The NLU's verdict that no intent covers the message."""
        return self.intent == OUT_OF_SCOPE

    def nlu_confident(self, thresholds: Thresholds) -> bool:
        return (self.intent not in (None, NLU_FALLBACK, OUT_OF_SCOPE)
                and self.confidence >= thresholds.nlu_min_confidence)


@dataclass
class Decision:
    kind: str  # "kb" | "responses" | "low_confidence" | "out_of_scope"
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


def in_context_vector(vector: np.ndarray | None, previous_vector: np.ndarray | None) -> np.ndarray | None:
    """A follow-up searched with the previous message: the normalised mean of the two embeddings."""
    if vector is None or previous_vector is None:
        return None
    mean = np.asarray(vector, np.float32).reshape(-1) + np.asarray(previous_vector, np.float32).reshape(-1)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


def find_hits(
    retriever: SearchesKb,
    understanding: Understanding,
    catalog: KbCatalog,
    thresholds: Thresholds,
    previous: str | None = None,
    k: int = 5,
    vector: np.ndarray | None = None,
    previous_vector: np.ndarray | None = None,
    language: str | None = None,
) -> tuple[list[dict], dict | None, bool]:
    """Search the KB; returns (hits, the hit to answer with or None, whether the intent guided it).

    When the NLU is confident about an intent that has an article, that article's passage wins even
    when another article scored higher; if the customer's wording did not retrieve it at all, the
    same vector searched within that article finds its best passage. When neither the NLU nor the
    search is confident, a follow-up ("is there a fee for that?") is searched again together with
    the customer's previous message (the mean of both embeddings when both are known), and that
    result is used if it clears the KB threshold. `language` (the conversation's): an article in that
    language on the same topic is preferred (retrieval/language.py), also over the intent's English article.
    """
    hits = retriever.search(query_for(understanding, catalog), k=k, vector=vector, language=language)
    confident = understanding.nlu_confident(thresholds)
    article = catalog.get(understanding.intent) if confident else None
    if article is not None:
        match = next((h for h in hits if _same_article(h, article.url)), None)
        if match is None:
            within = (retriever.search(query_for(understanding, catalog), k=1, filters={"url": article.url},
                                       vector=vector) if vector is not None else
                      retriever.search(article.title, k=k))
            match = next((h for h in within if _same_article(h, article.url)), None)
        if match is not None and language:
            match = next((h for h in hits if h.get("lang") == language and h.get("topic") == article.topic), match)
        if match is not None:
            return hits, match, True
    if not confident and previous and not understanding.is_payload and _top_score(hits) < thresholds.kb_min_score:
        text = f"{previous[:MAX_QUERY_CHARS]} {understanding.text[:MAX_QUERY_CHARS]}"
        in_context = retriever.search(text, k=k, vector=in_context_vector(vector, previous_vector), language=language)
        if _top_score(in_context) >= thresholds.kb_min_score:
            hits = in_context
    return hits, (hits[0] if hits else None), False


def covered_by_logs(understanding: Understanding, selection: dict | None) -> bool:
    """A typed message of a flow the support logs cover: the learnt reply scores at or above the
    serving model's own `learnt_min_score` (calibrated on KB questions, finetune.learnt_routing)."""
    if understanding.is_payload or not selection or not selection.get("reply"):
        return False
    floor = selection.get("learnt_min_score")
    return floor is not None and float(selection.get("score", 0.0)) >= float(floor)


def decide(
    understanding: Understanding,
    hits: list[dict],
    best: dict | None,
    guided: bool,
    selection: dict | None,
    thresholds: Thresholds,
) -> Decision:
    """Pick the reply: a learnt reply when the logs cover the flow (`covered_by_logs`), else KB when
    NLU or retrieval is confident, else a confident dialogue-model reply, else admit it and offer a
    person. Out of scope: KB only from `kb_out_of_scope_min_score`, else a polite refusal."""
    score = float(best.get("score", 0.0)) if best is not None else 0.0
    if covered_by_logs(understanding, selection):
        return Decision("responses", None, hits, selection)
    if understanding.out_of_scope:
        if best is not None and score >= thresholds.kb_out_of_scope_min_score:
            return Decision("kb", best, hits, selection)
        return Decision("out_of_scope", None, hits, selection)
    kb_confident = best is not None and score >= thresholds.kb_min_score
    if best is not None and (guided or kb_confident or understanding.nlu_confident(thresholds)):
        return Decision("kb", best, hits, selection, guided)
    if selection and selection.get("reply") and float(selection.get("score", 0.0)) >= thresholds.response_min_score:
        return Decision("responses", None, hits, selection)
    return Decision("low_confidence", None, hits, selection)
