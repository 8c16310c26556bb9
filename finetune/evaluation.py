"""Response-selection evaluation: recall@1 of 100 and MRR, for any scorer, on one fixed candidate set.

Protocol: every agent turn of the test logs with at least one earlier turn is a test
case; its context is the earlier turns; its candidates are the true reply plus 99 agent replies
drawn with a fixed seed from *other* test conversations whose text differs from the true reply
(drawn by occurrence, so frequent replies are frequent distractors too). A model's rank for a case
counts ties against it, so a scorer that gives every candidate the same score ranks last.
"""

from __future__ import annotations

import random
from typing import Protocol

import numpy as np

from finetune.pairs import make_pairs


class Scorer(Protocol):
    name: str

    def score(self, contexts: list[str], candidates: list[list[str]]) -> list[np.ndarray]:
        """One score per candidate, higher is better."""


def build_eval_set(conversations: list[dict], n_candidates: int = 100, seed: int = 13, context_turns: int = 3,
                   max_cases: int | None = None) -> list[dict]:
    """Test cases `{"context", "reply", "candidates"}` with the true reply at candidates[0]."""
    pairs = make_pairs(conversations, context_turns)
    pool = [(p["conversation_id"], p["reply"]) for p in pairs]
    rng = random.Random(seed)
    if max_cases is not None and len(pairs) > max_cases:
        pairs = rng.sample(pairs, max_cases)
    cases = []
    for p in pairs:
        chosen: list[str] = []
        seen = {p["reply"]}
        for _ in range(50 * n_candidates):  # bounded: a tiny test set may not have 99 distinct replies
            if len(chosen) == n_candidates - 1:
                break
            cid, text = pool[rng.randrange(len(pool))]
            if cid != p["conversation_id"] and text not in seen:
                seen.add(text)
                chosen.append(text)
        if len(chosen) < n_candidates - 1:
            raise ValueError(
                f"the test logs hold only {len(seen) - 1} distinct replies usable as distractors, fewer than "
                f"{n_candidates - 1}: evaluate on more conversations"
            )
        cases.append({"context": p["context"], "reply": p["reply"], "candidates": [p["reply"], *chosen]})
    return cases


class RankingEvaluator:
    """Scores every case's candidates with a scorer and reports recall@1, recall@5 and MRR."""

    def __init__(self, cases: list[dict]):
        if not cases:
            raise ValueError("no test cases: the test logs need agent turns that follow another turn")
        self.cases = cases

    def ranks(self, scorer: Scorer) -> np.ndarray:
        scores = scorer.score([c["context"] for c in self.cases], [c["candidates"] for c in self.cases])
        return np.array([1 + int(np.sum(s[1:] >= s[0])) for s in scores])

    def evaluate(self, scorer: Scorer) -> dict:
        ranks = self.ranks(scorer)
        return {
            "recall@1": round(float(np.mean(ranks == 1)), 4),
            "recall@5": round(float(np.mean(ranks <= 5)), 4),
            "mrr": round(float(np.mean(1.0 / ranks)), 4),
            "cases": int(len(ranks)),
        }


class EncoderScorer:
    """Dual-encoder scoring: cosine of the encoded context and each encoded candidate.

    Each distinct text is encoded once, however many cases share it.
    """

    def __init__(self, encoder, name: str = "encoder", progress: bool = False):
        self.encoder = encoder  # anything with .encode(texts, progress) -> normalised rows
        self.name = name
        self.progress = progress

    def score(self, contexts: list[str], candidates: list[list[str]]) -> list[np.ndarray]:
        ctx_vecs = self.encoder.encode(list(contexts), progress=self.progress)
        texts = sorted({t for cands in candidates for t in cands})
        row = {t: i for i, t in enumerate(texts)}
        cand_vecs = self.encoder.encode(texts, progress=self.progress)
        return [cand_vecs[[row[t] for t in cands]] @ ctx_vecs[i] for i, cands in enumerate(candidates)]


class BM25Scorer:
    """Lexical baseline: BM25 over the distinct candidate texts, the context as the query."""

    name = "bm25"

    def score(self, contexts: list[str], candidates: list[list[str]]) -> list[np.ndarray]:
        import bm25s

        texts = sorted({t for cands in candidates for t in cands})
        row = {t: i for i, t in enumerate(texts)}
        retriever = bm25s.BM25()
        retriever.index(bm25s.tokenize(texts, stopwords="en", show_progress=False), show_progress=False)
        queries = bm25s.tokenize(list(contexts), stopwords="en", return_ids=False, show_progress=False)
        out = []
        for query, cands in zip(queries, candidates):
            scores = retriever.get_scores(query) if query else np.zeros(len(texts))
            out.append(np.asarray(scores)[[row[t] for t in cands]])
        return out


def held_out_evaluator(conversations: list[dict], settings, max_cases: int | None, too_small: str) -> RankingEvaluator:
    """The recall@1-of-100 evaluator over `conversations` with the settings' seed and context length;
    `NotEnoughData` (starting with `too_small`) when they hold no usable case."""
    from finetune.errors import NotEnoughData

    try:
        return RankingEvaluator(build_eval_set(conversations, seed=settings.finetune_seed,
                                               context_turns=settings.finetune_context_turns, max_cases=max_cases))
    except ValueError as exc:
        raise NotEnoughData(f"{too_small} ({exc})") from exc
