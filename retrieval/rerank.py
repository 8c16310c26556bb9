"""Optional cross-encoder reranking of the fused candidates.

A cross-encoder reads query and passage together, so it orders the top candidates better than
either embedding or keyword scores, at the cost of one model pass per candidate: it only runs when
`SUPPORTBOT_RERANKER_MODEL` names a model, and only over the top `rerank_depth` candidates.
"""

from __future__ import annotations

import os

import numpy as np


class Reranker:
    def __init__(self, model: str, device: str = "cpu", batch_size: int = 32):
        self.model = model
        self.device = device
        self.batch_size = batch_size
        self._ce = None

    def load(self) -> Reranker:
        if self._ce is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            from sentence_transformers import CrossEncoder

            try:
                self._ce = CrossEncoder(self.model, device=self.device)
            except Exception as exc:
                raise RuntimeError(
                    f"Cannot load the reranker {self.model!r} ({exc}). Point SUPPORTBOT_RERANKER_MODEL at a "
                    "local cross-encoder directory, or leave it empty to search without reranking."
                ) from exc
        return self

    def scores(self, query: str, texts: list[str]) -> np.ndarray:
        """One relevance score per text (higher is better)."""
        if self._ce is None:
            raise RuntimeError("Reranker.load() must be called before scoring.")
        if not texts:
            return np.zeros(0, np.float32)
        out = self._ce.predict([(query, t) for t in texts], batch_size=self.batch_size, show_progress_bar=False)
        out = np.asarray(out, dtype=np.float32)
        return out[:, -1] if out.ndim == 2 else out
