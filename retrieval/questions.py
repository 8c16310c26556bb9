"""An article's example questions: matched question-to-question, they help dense search find the article.

A knowledge-base article may list the questions customers ask that it answers (markdown front matter or a
record's `questions`: a list of strings). Each is embedded as a *query* (E5's `query: ` side, the same side
as the customer's message), so a customer's wording meets a customer's wording instead of the article's
prose: with multilingual-e5-small this is what lifts Chinese recall@1 (docs/benchmarks.md "English and
Chinese"). At search time a dense candidate passage is ordered by the mean of its own cosine and the best
cosine between the query and its article's questions; a passage of an article without questions keeps its
cosine. `score` (the passage's cosine) is never changed, only the order.

Invariants: the vectors are built by the index's encoder at ingest and saved with the index version
(`questions.npz`: float32 rows, the doc id of each); unchanged questions reuse the previous version's vectors,
so an ingest encodes only new question texts. No questions anywhere: no file, and search is exactly as before.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

KEY = "questions"  # the metadata key (front matter / record field)
FILE = "questions.npz"
MAX_QUESTIONS = 50  # per article; more add encoding time, not recall


def clean_questions(value) -> list[str]:
    """The list of non-empty question strings in a front-matter / record value (anything else: none)."""
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)):
        return []
    return [" ".join(str(q).split()) for q in value if isinstance(q, (str, int, float)) and str(q).strip()][:MAX_QUESTIONS]


class QuestionVectors:
    """The question vectors of one index version and the article (doc id) of each."""

    def __init__(self, vectors: np.ndarray, doc_ids: list[str], texts: list[str]):
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.vectors = vectors.reshape(len(doc_ids), -1) if len(doc_ids) else vectors.reshape(0, 0)
        self.doc_ids = list(doc_ids)
        self.texts = list(texts)

    def __len__(self) -> int:
        return len(self.doc_ids)

    @classmethod
    def build(cls, documents: dict[str, dict], encode, previous: QuestionVectors | None = None) -> QuestionVectors:
        """Every document's questions (`documents`: the passage store's), encoding only texts `previous` lacks."""
        pairs = [(doc_id, q) for doc_id in sorted(documents)
                 for q in clean_questions((documents[doc_id].get("meta") or {}).get(KEY))]
        known = dict(zip(previous.texts, previous.vectors)) if previous is not None else {}
        todo = sorted({q for _, q in pairs if q not in known})
        if todo:
            known.update(zip(todo, np.asarray(encode(todo), dtype=np.float32)))
        dim = next(iter(known.values())).shape[0] if known else 0
        vectors = np.stack([known[q] for _, q in pairs]) if pairs else np.zeros((0, dim), np.float32)
        return cls(vectors, [d for d, _ in pairs], [q for _, q in pairs])

    def save(self, version: Path) -> None:
        path = Path(version) / FILE
        if not self.doc_ids:
            path.unlink(missing_ok=True)
            return
        np.savez(path, vectors=self.vectors, doc_ids=np.array(self.doc_ids), texts=np.array(self.texts))

    @classmethod
    def load(cls, version: Path) -> QuestionVectors | None:
        path = Path(version) / FILE
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as data:
            return cls(data["vectors"], [str(d) for d in data["doc_ids"]], [str(t) for t in data["texts"]])

    def best_by_document(self, query_vector: np.ndarray) -> dict[str, float]:
        """For each article with questions, the best cosine between `query_vector` (dim,) and one of them."""
        scores = self.vectors @ np.asarray(query_vector, dtype=np.float32).reshape(-1)
        best: dict[str, float] = {}
        for doc_id, s in zip(self.doc_ids, scores.tolist()):
            if s > best.get(doc_id, -2.0):
                best[doc_id] = s
        return best


def reorder(dense: dict[int, float], doc_of: dict[int, str], best: dict[str, float]) -> dict[int, float]:
    """Dense candidates (passage id → cosine, best first) ordered by (cosine + best question cosine) / 2 where
    the passage's article has questions, by the cosine otherwise; the values returned are the ordering scores."""
    combined = {pid: (cos + best[doc_of[pid]]) / 2 if doc_of.get(pid) in best else cos for pid, cos in dense.items()}
    return dict(sorted(combined.items(), key=lambda item: -item[1]))
