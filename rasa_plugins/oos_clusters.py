"""Out-of-scope examples as several classes: a heterogeneous `oos` intent split into clusters for the SVM.

A bot's out-of-scope examples are many topics under one label (on the large set: 15 banking intents and
off-topic chat). One linear one-vs-rest boundary cannot enclose them all, so the SVM learns a weak `oos`
class that both misses out-of-scope messages and pulls in-scope ones. Splitting the examples into clusters
of their sentence embeddings (k-means, about `cluster_size` examples per cluster) gives each topic its own
linear boundary; the margin of an out-of-scope intent is the highest margin of its clusters, so everything
downstream (temperature, detector, threshold, ranking) still sees one `oos` class.

Invariants: rows of the weight matrix are ordered by class (`row_class` is non-decreasing), every class
has at least one row, and an intent with fewer than 2 * `cluster_size` examples keeps a single row — so a
bot with no or few out-of-scope examples (the common case) trains exactly the model it trained before.
"""

from __future__ import annotations

import numpy as np

MAX_CLUSTERS = 32  # more costs SVM fits and adds nothing once the topics are separated


def split_classes(y: np.ndarray, n_classes: int, split: list[int], vectors, cluster_size: int,
                  seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(row label of every example, class of every row): the classes in `split` clustered on `vectors`.

    `y`: class id per example; `vectors`: one row per example (dense embeddings, or sparse features when
    the pipeline has no embedding). Classes not in `split`, or too small to split, map to one row."""
    counts = np.bincount(y, minlength=n_classes)
    k_of = {c: int(min(MAX_CLUSTERS, counts[c] // cluster_size)) if cluster_size > 0 else 1 for c in split}
    row_class: list[int] = []
    first_row = np.zeros(n_classes, dtype=int)
    for c in range(n_classes):
        first_row[c] = len(row_class)
        row_class += [c] * max(1, k_of.get(c, 1))
    rows = first_row[y].copy()
    for c, k in k_of.items():
        if k < 2:
            continue
        from sklearn.cluster import KMeans

        members = np.flatnonzero(y == c)
        assignment = KMeans(n_clusters=k, n_init=3, random_state=seed).fit_predict(vectors[members])
        rows[members] = first_row[c] + assignment
    return rows, np.asarray(row_class, dtype=np.int32)


def class_margins(row_margins: np.ndarray, row_class: np.ndarray) -> np.ndarray:
    """Per-class margins: the highest margin among each class's rows (columns follow `row_class`)."""
    if len(row_class) == row_margins.shape[1] and np.array_equal(row_class, np.arange(len(row_class))):
        return row_margins
    starts = np.flatnonzero(np.r_[True, np.diff(row_class) != 0])
    return np.maximum.reduceat(row_margins, starts, axis=1)
