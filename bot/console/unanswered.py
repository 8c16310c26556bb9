"""The questions the bot could not answer, clustered by meaning for the dashboard.

A customer turn is "unanswered" when the NLU fell back (`nlu_fallback`), it was out of scope,
the bot service could not get a reply (`answered` is false), or its confidence was low. The most
recent `console_unanswered_limit` of them (customer traffic only: bot/traffic.py) are embedded with retrieval's Encoder and grouped
greedily: a question joins the most similar cluster when its cosine similarity to that
cluster's centroid is at least `console_cluster_similarity`, else starts its own. The encoder loads once, on
the first dashboard view; results are cached until new turns arrive.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

import numpy as np
from sqlalchemy import or_, select

from bot.console.listing import customer_turns
from core.store.models import Speaker, Turn

UNANSWERED_INTENTS = ("nlu_fallback", "out_of_scope")


@functools.lru_cache(maxsize=2)
def shared_encoder(model: str):
    """One loaded encoder per model and process (every app built in a process shares it)."""
    from retrieval.encoder import Encoder

    return Encoder(model).load()


class UnansweredClusters:
    def __init__(self, db, settings, encoder: Any = None):
        self.db = db
        self.settings = settings
        self._encoder = encoder
        self._lock = threading.Lock()
        self._cache: dict[tuple, list[dict]] = {}

    def encoder(self):
        if self._encoder is None:
            self._encoder = shared_encoder(self.settings.encoder)
        return self._encoder

    def questions(self, rng) -> list[tuple[int, str, str]]:
        """(turn id, conversation id, text) of unanswered customer turns in the range, newest first."""
        q = (select(Turn.id, Turn.conversation_id, Turn.text)
             .where(Turn.speaker == Speaker.CUSTOMER.value, Turn.created_at >= rng.lo, Turn.created_at < rng.hi,
                    or_(Turn.intent.in_(UNANSWERED_INTENTS), Turn.answered.is_(False),
                        Turn.confidence < self.settings.console_low_confidence), customer_turns())
             .order_by(Turn.created_at.desc()).limit(self.settings.console_unanswered_limit))
        with self.db.session() as s:
            return [(i, c, t) for i, c, t in s.execute(q) if t and t.strip()]

    def clusters(self, rng, top: int = 10) -> list[dict]:
        rows = self.questions(rng)
        if not rows:
            return []
        key = (rng.start, rng.end, len(rows), max(r[0] for r in rows))
        with self._lock:
            if key not in self._cache:
                vectors = self.encoder().encode([t for _, _, t in rows])
                self._cache = {key: group(rows, np.asarray(vectors, dtype=np.float32),
                                          self.settings.console_cluster_similarity)}
            return self._cache[key][:top]


def group(rows: list[tuple[int, str, str]], vectors: np.ndarray, threshold: float,
          customer_of: dict[str, str] | None = None) -> list[dict]:
    """Greedy centroid clustering of L2-normalised vectors; biggest clusters first. With `customer_of`
    (conversation id -> customer) each cluster also counts its distinct `customers`."""
    centroids: list[np.ndarray] = []
    sums: list[np.ndarray] = []
    members: list[list[int]] = []
    for i, v in enumerate(vectors):
        if centroids:
            sims = np.stack(centroids) @ v
            best = int(np.argmax(sims))
            if sims[best] >= threshold:
                members[best].append(i)
                sums[best] = sums[best] + v
                centroids[best] = sums[best] / max(np.linalg.norm(sums[best]), 1e-12)
                continue
        centroids.append(v.copy())
        sums.append(v.copy())
        members.append([i])
    out = []
    for centroid, idx in zip(centroids, members):
        central = idx[int(np.argmax(vectors[idx] @ centroid))]
        texts = list(dict.fromkeys(rows[i][2] for i in idx))
        out.append({"label": rows[central][2], "count": len(idx), "examples": texts[:5],
                    "conversation_ids": list(dict.fromkeys(rows[i][1] for i in idx))[:100]})
        if customer_of is not None:
            out[-1]["customers"] = len({customer_of.get(rows[i][1], rows[i][1]) for i in idx})
            out[-1]["questions"] = texts[:12]
    out.sort(key=lambda c: (-c["count"], c["label"]))
    return out
