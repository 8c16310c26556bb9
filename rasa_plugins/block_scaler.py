"""Per-block feature scaling for the intent model: dense blocks weighted, count blocks tf-idf'd and normalised.

Role: turns the featurizers' blocks (keyed by featurizer name) into the one sparse matrix the linear SVM
(`rasa_plugins.intent_model`) reads. Invariant: each block is normalised on its own, so adding a featurizer
never drowns another; a block missing or of another width than in training is an error that says to retrain.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

Blocks = dict[str, "np.ndarray | sp.spmatrix"]


class BlockScaler:
    """Per-block feature transform learnt on training data.

    Dense blocks are multiplied by `dense_weight`; sparse count blocks get sublinear tf-idf
    weighting and L2 normalisation, then `sparse_weight`. Each block is normalised on its own so
    adding a featurizer never drowns another.
    """

    def __init__(self, dense_weight: float, sparse_weight: float):
        self.dense_weight = dense_weight
        self.sparse_weight = sparse_weight
        self.names: list[str] = []
        self.dims: dict[str, int] = {}
        self.idf: dict[str, np.ndarray] = {}

    def fit(self, blocks: Blocks) -> "BlockScaler":
        self.names = sorted(blocks)
        for name in self.names:
            m = blocks[name]
            self.dims[name] = int(m.shape[1])
            if sp.issparse(m):
                n = m.shape[0]
                df = np.asarray((sp.csr_matrix(m) > 0).sum(axis=0)).ravel()
                self.idf[name] = (np.log((1.0 + n) / (1.0 + df)) + 1.0).astype(np.float32)
        return self

    def transform(self, blocks: Blocks) -> sp.csr_matrix:
        missing = [n for n in self.names if n not in blocks]
        if missing:
            raise ValueError(f"features from {missing} are missing; the pipeline changed since training — retrain")
        parts = []
        for name in self.names:
            m = blocks[name]
            if m.shape[1] != self.dims[name]:
                raise ValueError(f"{name} gives {m.shape[1]} features, training saw {self.dims[name]}; retrain")
            if name in self.idf:
                m = self._tfidf(sp.csr_matrix(m, dtype=np.float32, copy=True), self.idf[name])
            else:
                m = sp.csr_matrix(np.asarray(m, dtype=np.float32) * self.dense_weight)
            parts.append(m)
        return sp.hstack(parts, format="csr", dtype=np.float32)


    def _tfidf(self, m: sp.csr_matrix, idf: np.ndarray) -> sp.csr_matrix:
        """Sublinear tf (1 + log tf) x idf, rows L2-normalised, times sparse_weight — on the raw arrays,
        because a chain of scipy operations costs milliseconds per message at inference."""
        rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
        data = np.where(m.data > 0, 1.0 + np.log(np.maximum(m.data, 1e-12)), 0.0) * idf[m.indices]
        norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=m.shape[0]))
        m.data = (data * (self.sparse_weight / np.maximum(norms, 1e-12))[rows]).astype(np.float32)
        return m
