"""Out-of-scope detection that needs no out-of-scope examples: distance-to-class combined with confidence.

A message is scored by how answerable it looks: a logistic combination of the classifier's calibrated
confidence and its sentence embedding's cosine similarity to the nearest training example of the
predicted intent (kNN, k = 1). The combination is learnt at training time on out-of-fold data:
  * positives: in-scope examples the out-of-fold model got right;
  * negatives: in-scope examples it got wrong, the bot's own out-of-scope examples (when it has any),
    and pseudo-out-of-scope examples made by leaving intents out: the intents are split into groups,
    a model is trained without each group, and that group's examples, scored by it, are what an
    out-of-scope message looks like to this bot (near its domain: the hardest kind).
Each kind is weighed by its share (balanced), so the score is independent of the operating point;
the threshold on it is then chosen by `rasa_plugins.calibration.choose_threshold` with the expected
out-of-scope share of the traffic, which is where the operating point enters.

Invariants: every feature of a training example is computed by a model that did not see it; the
detector stores only the training embeddings (float16), their intents, and three numbers, so
scoring one message is one matrix-vector product (~1 ms for 10k examples).
"""

from __future__ import annotations

import numpy as np

FEATURES = ("confidence", "similarity")


def normalise(dense: np.ndarray) -> np.ndarray:
    dense = np.asarray(dense, dtype=np.float32)
    return dense / np.maximum(np.linalg.norm(dense, axis=1, keepdims=True), 1e-12)


FEW_QUERIES = 16  # up to this many queries, `of_classes` reads only their own classes' examples


class ClassSimilarity:
    """Max cosine similarity of a query to the stored examples of each class (-1 for a class without any)."""

    def __init__(self, embeddings: np.ndarray, labels: np.ndarray, n_classes: int):
        order = np.argsort(labels, kind="stable")
        self.embeddings = np.ascontiguousarray(embeddings[order], dtype=np.float32)  # float16 on disk
        self.labels = labels[order]
        self.n_classes = n_classes
        self.present, self.starts = np.unique(self.labels, return_index=True)

    def __call__(self, queries: np.ndarray) -> np.ndarray:
        out = np.full((len(queries), self.n_classes), -1.0, dtype=np.float32)
        if len(self.labels) == 0 or len(queries) == 0:
            return out
        for lo in range(0, len(queries), 1024):  # bounded memory: 1024 x n similarities at a time
            sims = queries[lo:lo + 1024].astype(np.float32) @ self.embeddings.T
            out[lo:lo + 1024, self.present] = np.maximum.reduceat(sims, self.starts, axis=1)
        return out

    def of_classes(self, queries: np.ndarray, classes: np.ndarray) -> np.ndarray:
        """Each query's max similarity to the examples of its own class: `self(queries)[i, classes[i]]`.
        A few queries (a served message) read only their classes' examples, about a hundred each, not the whole
        set (10,000 x 384 floats per message for the demo bot); a batch takes one product with every example."""
        if len(queries) > FEW_QUERIES:
            return self(queries)[np.arange(len(classes)), classes]
        out = np.full(len(queries), -1.0, dtype=np.float32)
        ends = np.append(self.starts[1:], len(self.labels))
        position = {int(c): k for k, c in enumerate(self.present)}
        for i, c in enumerate(classes):
            k = position.get(int(c))
            if k is not None:
                out[i] = (self.embeddings[self.starts[k]:ends[k]] @ queries[i].astype(np.float32)).max()
        return out


def features(confidence: np.ndarray, similarity: np.ndarray) -> np.ndarray:
    """The detector's inputs per message: confidence of the predicted intent, similarity to it."""
    return np.column_stack([confidence, similarity]).astype(np.float64)


class Combiner:
    """Logistic regression P(answerable | features) on standardised features, numpy only at inference."""

    def __init__(self, mean=None, scale=None, weights=None, bias: float = 0.0):
        self.mean = np.zeros(len(FEATURES)) if mean is None else np.asarray(mean, dtype=np.float64)
        self.scale = np.ones(len(FEATURES)) if scale is None else np.asarray(scale, dtype=np.float64)
        self.weights = np.array([1.0, 0.0]) if weights is None else np.asarray(weights, dtype=np.float64)
        self.bias = float(bias)

    def fit(self, x: np.ndarray, target: np.ndarray, groups: list[np.ndarray], seed: int = 0) -> "Combiner":
        """`groups`: boolean masks over rows (kinds of example); each kind gets the same total weight."""
        from sklearn.linear_model import LogisticRegression

        weight = np.zeros(len(x))
        kinds = [g for g in groups if g.any()]
        for g in kinds:
            weight[g] += 1.0 / (g.sum() * len(kinds))
        self.mean, self.scale = x.mean(axis=0), np.maximum(x.std(axis=0), 1e-6)
        if len(np.unique(target)) < 2:  # nothing to separate: confidence alone, as before
            self.weights, self.bias = np.array([1.0 / self.scale[0], 0.0]) * self.scale, 0.0
            return self
        lr = LogisticRegression(C=1.0, random_state=seed).fit((x - self.mean) / self.scale, target,
                                                              sample_weight=weight * len(x))
        self.weights, self.bias = lr.coef_[0].astype(np.float64), float(lr.intercept_[0])
        return self

    def score(self, x: np.ndarray) -> np.ndarray:
        z = ((x - self.mean) / self.scale) @ self.weights + self.bias
        return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))

    def as_dict(self) -> dict:
        return {"features": list(FEATURES), "mean": self.mean.tolist(), "scale": self.scale.tolist(),
                "weights": self.weights.tolist(), "bias": self.bias}

    @classmethod
    def from_dict(cls, d: dict) -> "Combiner":
        return cls(d["mean"], d["scale"], d["weights"], d["bias"])


def intent_groups(in_scope: list[int], n_groups: int, seed: int) -> list[list[int]]:
    """In-scope class ids shuffled (seeded) into `n_groups` groups for leaving intents out."""
    ids = list(in_scope)
    np.random.default_rng(seed).shuffle(ids)
    return [sorted(ids[g::n_groups]) for g in range(n_groups) if ids[g::n_groups]]
