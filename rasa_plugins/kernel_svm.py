"""An RBF-kernel SVM on the sentence embedding: fitted with sklearn, served from plain arrays in numpy.

Role: the intent model's second opinion (`rasa_plugins.intent_model`, `kernel_weight`). A linear SVM gives
every intent a convex region of the embedding space; paraphrases of one intent often lie on a curved band
between two others, and a kernel machine follows it. Its per-intent scores are added to the linear SVM's
margins before temperature scaling, so the detector, the threshold and the ranking see one model
(measured in docs/nlu.md, "Bots with out-of-scope examples of their own").

Invariants:
* `decision(E)` is sklearn's `SVC(decision_function_shape="ovr").decision_function(E)` of the fitted model,
  divided by (number of intents seen − 1) so every score lies in about [−0.1, 1.1] whatever the bot's size;
  tests/rasa_plugins/test_kernel_svm.py checks it against sklearn itself.
* Intents absent from the fit (a calibration fold, intents left out) score `ABSENT`, below every seen one.
* Persisted as arrays (`to_arrays` / `from_arrays`), no pickle; nothing heavy at import time.
"""

from __future__ import annotations

import warnings

import numpy as np

ABSENT = -1.0


class KernelSVM:
    """One-vs-one RBF SVM over L2-normalised embeddings, scored one-vs-rest as sklearn scores it."""

    def __init__(self, n_classes: int, C: float = 5.0):
        self.n_classes = n_classes
        self.C = C
        self.gamma = 1.0
        self.present = np.zeros(0, dtype=np.int32)  # intent ids the fit saw, ascending (sklearn's classes_)
        self.support = np.zeros((0, 0), dtype=np.float32)  # support vectors, grouped by class
        self.n_support = np.zeros(0, dtype=np.int32)
        self.dual = np.zeros((0, 0), dtype=np.float32)  # (classes seen − 1, support vectors)
        self.intercept = np.zeros(0, dtype=np.float32)  # one per pair (i < j), sklearn's order
        self._pairs: tuple | None = None
        self._norms: np.ndarray | None = None  # squared norms of the support vectors, made once

    def fit(self, E: np.ndarray, y: np.ndarray, weights: np.ndarray | None = None) -> "KernelSVM":
        from sklearn.svm import SVC

        present = np.unique(y)
        self.present = present.astype(np.int32)
        self._pairs = self._norms = None
        if len(present) < 2:  # one intent only: it always wins (`decision`)
            return self
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            svc = SVC(C=self.C, kernel="rbf", gamma="scale", cache_size=500).fit(E, y, sample_weight=weights)
        self.gamma = float(svc._gamma)
        self.support = np.asarray(svc.support_vectors_, dtype=np.float32)
        self.n_support = svc.n_support_.astype(np.int32)
        # libsvm's own signs (sklearn flips the public binary ones): > 0 votes for the pair's first class
        self.dual = np.asarray(svc._dual_coef_, dtype=np.float32)
        self.intercept = np.asarray(svc._intercept_, dtype=np.float32)
        return self

    def _support_norms(self) -> np.ndarray:
        if self._norms is None or self._norms.shape[0] != self.support.shape[0]:
            self._norms = (self.support * self.support).sum(axis=1)
        return self._norms

    def _pair_index(self):
        if self._pairs is None:
            k = len(self.present)
            i, j = np.triu_indices(k, 1)  # sklearn's pair order: (0,1), (0,2), ..., (1,2), ...
            eye = np.eye(k, dtype=np.float32)
            self._pairs = (i, j, eye[i], eye[j])  # one-hot of each pair's classes: votes as two products
        return self._pairs

    def ovo(self, E: np.ndarray) -> np.ndarray:
        """libsvm's pairwise decision values (n, pairs): > 0 votes for the pair's first class."""
        E = np.asarray(E, dtype=np.float32)
        sq = (E * E).sum(axis=1)[:, None] + self._support_norms()[None, :]
        K = np.exp(-self.gamma * np.maximum(sq - 2.0 * (E @ self.support.T), 0.0))
        i, j, _, _ = self._pair_index()
        k = len(self.present)
        # part[n, c, r] = sum over class c's support vectors of dual[r, sv] * K[n, sv]: one product and one
        # segmented sum (a loop of per-class products costs ~5 ms per message in Python overhead)
        nonempty = np.flatnonzero(self.n_support)
        starts = (np.cumsum(self.n_support) - self.n_support)[nonempty]
        part = np.zeros((E.shape[0], k, k - 1), dtype=np.float32)
        step = max(1, 4_000_000 // max(1, self.dual.size))
        for a in range(0, E.shape[0], step):
            Z = K[a:a + step, None, :] * self.dual[None]
            part[a:a + step, nonempty] = np.add.reduceat(Z, starts, axis=2).transpose(0, 2, 1)
        return part[:, i, j - 1] + part[:, j, i] + self.intercept

    def decision(self, E: np.ndarray) -> np.ndarray:
        """Per-intent scores (n, n_classes), sklearn's ovr transform of the votes / (intents seen − 1)."""
        n = np.asarray(E).shape[0]
        out = np.full((n, self.n_classes), ABSENT, dtype=np.float32)
        k = len(self.present)
        if k < 2:
            out[:, self.present] = 1.0
            return out
        dec = self.ovo(E)
        _, _, first, second = self._pair_index()
        wins_j = (dec < 0).astype(np.float32)
        votes = (1.0 - wins_j) @ first + wins_j @ second
        conf = dec @ first - dec @ second  # sklearn: confidences = -dec; the first class gets -conf, the second +conf
        scores = votes + conf / (3.0 * (np.abs(conf) + 1.0))
        out[:, self.present] = scores / (k - 1)
        return out

    # -- persistence ------------------------------------------------------------------------
    def to_arrays(self, prefix: str = "kernel") -> dict[str, np.ndarray]:
        return {f"{prefix}_support": self.support, f"{prefix}_n_support": self.n_support,
                f"{prefix}_dual": self.dual, f"{prefix}_intercept": self.intercept,
                f"{prefix}_present": self.present,
                f"{prefix}_params": np.array([self.gamma, self.C, self.n_classes], dtype=np.float64)}

    @classmethod
    def from_arrays(cls, arrays, prefix: str = "kernel") -> "KernelSVM | None":
        if f"{prefix}_support" not in arrays.files:
            return None
        gamma, C, n_classes = arrays[f"{prefix}_params"]
        model = cls(int(n_classes), float(C))
        model.gamma = float(gamma)
        model.support = arrays[f"{prefix}_support"]
        model.n_support = arrays[f"{prefix}_n_support"]
        model.dual = arrays[f"{prefix}_dual"]
        model.intercept = arrays[f"{prefix}_intercept"]
        model.present = arrays[f"{prefix}_present"]
        return model
