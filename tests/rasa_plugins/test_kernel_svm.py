"""The kernel SVM served from arrays scores exactly as sklearn's SVC it was fitted as (the reference)."""

import numpy as np
import pytest

from rasa_plugins.kernel_svm import ABSENT, KernelSVM


def blobs(n_classes: int, per_class: int = 30, dim: int = 16, seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, dim))
    X = np.vstack([c + 0.8 * rng.normal(size=(per_class, dim)) for c in centres])
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X.astype(np.float32), np.repeat(np.arange(n_classes), per_class)


@pytest.mark.parametrize("n_classes", [2, 3, 7])
def test_decision_matches_sklearn(n_classes):
    from sklearn.svm import SVC

    X, y = blobs(n_classes)
    queries, _ = blobs(n_classes, per_class=5, seed=1)
    model = KernelSVM(n_classes, C=5.0).fit(X, y)
    reference = SVC(C=5.0, kernel="rbf", gamma="scale").fit(X, y)
    ovr = reference.decision_function(queries)
    reference.decision_function_shape = "ovo"
    ovo = reference.decision_function(queries)
    if n_classes == 2:  # sklearn's binary scores: > 0 for the second class; libsvm's (ours) > 0 for the first
        ovr, ovo = np.stack([-ovr, ovr], axis=1), -ovo[:, None]
    else:
        np.testing.assert_allclose(model.decision(queries) * (n_classes - 1), ovr, atol=1e-4)
    np.testing.assert_allclose(model.ovo(queries), ovo, atol=1e-4)
    assert (model.decision(queries).argmax(axis=1) == ovr.argmax(axis=1)).all()


def test_absent_intents_score_below_every_seen_one():
    X, y = blobs(4)
    keep = y != 2
    scores = KernelSVM(5).fit(X[keep], y[keep]).decision(X[:10])
    assert (scores[:, [2, 4]] == ABSENT).all()
    assert (np.delete(scores, [2, 4], axis=1) > ABSENT).all()


def test_one_intent_always_wins():
    X, y = blobs(1)
    scores = KernelSVM(3).fit(X, y).decision(X[:4])
    assert (scores.argmax(axis=1) == 0).all()


def test_arrays_round_trip(tmp_path):
    X, y = blobs(5)
    model = KernelSVM(5, C=2.0).fit(X, y)
    np.savez_compressed(tmp_path / "m.npz", **model.to_arrays())
    loaded = KernelSVM.from_arrays(np.load(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.decision(X), model.decision(X))
    assert loaded.C == 2.0 and loaded.n_classes == 5
    assert KernelSVM.from_arrays(np.load(tmp_path / "m.npz"), prefix="other") is None
