"""The calibrated intent model on small real feature matrices: learns, calibrates, persists exactly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from rasa_plugins.calibration import choose_threshold, fit_temperature, softmax
from rasa_plugins.intent_model import IntentModel

INTENTS = ["card_arrival", "exchange_rate", "top_up_failed", "greet"]


def blobs(seed: int, per_intent: int = 30, oos: int = 0):
    """Dense 'embeddings' around one unit vector per intent plus sparse counts sharing a keyword
    per intent; out-of-scope rows point elsewhere and share no keyword."""
    rng = np.random.default_rng(seed)
    centres = np.eye(16)[: len(INTENTS)]
    dense, rows, labels = [], [], []
    for k, intent in enumerate(INTENTS):
        for _ in range(per_intent):
            v = centres[k] + rng.normal(0, 0.2, 16)
            dense.append(v / np.linalg.norm(v))
            counts = np.zeros(40)
            counts[k] = rng.integers(1, 3)
            counts[rng.integers(10, 40, 3)] += 1
            rows.append(counts)
            labels.append(intent)
    for _ in range(oos):
        v = np.eye(16)[rng.integers(8, 16)] + rng.normal(0, 0.2, 16)
        dense.append(v / np.linalg.norm(v))
        counts = np.zeros(40)
        counts[rng.integers(10, 40, 3)] += 1
        rows.append(counts)
        labels.append("out_of_scope")
    blocks = {"minilm": np.array(dense, dtype=np.float32), "char_ngrams": sp.csr_matrix(np.array(rows))}
    return blocks, labels


def test_learns_calibrates_and_rejects_what_it_was_shown_as_out_of_scope():
    blocks, labels = blobs(0, oos=30)
    model = IntentModel(folds=5).fit(blocks, labels)
    assert model.report["out_of_fold_accuracy"] > 0.9
    assert 0.0 <= model.threshold < 1.0 and model.report["threshold_learnt"]
    test_blocks, test_labels = blobs(1, per_intent=10, oos=10)
    probs, score = model.predict(test_blocks)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    predicted = [model.classes[i] if s >= model.threshold else "nlu_fallback" for i, s in zip(probs.argmax(1), score)]
    rejected = [p in ("nlu_fallback", "out_of_scope") for p in predicted]
    in_scope = [label != "out_of_scope" for label in test_labels]
    accuracy = np.mean([p == g for p, g, keep in zip(predicted, test_labels, in_scope) if keep])
    oos_recall = np.mean([r for r, keep in zip(rejected, in_scope) if not keep])
    assert accuracy >= 0.9 and oos_recall >= 0.9


def test_persisted_model_predicts_identically(tmp_path):
    blocks, labels = blobs(2)
    model = IntentModel(folds=3).fit(blocks, labels)
    model.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    assert loaded.classes == model.classes and loaded.threshold == model.threshold
    test_blocks, _ = blobs(3, per_intent=5)
    for before, after in zip(model.predict(test_blocks), loaded.predict(test_blocks)):
        np.testing.assert_allclose(after, before, rtol=1e-6)
    assert loaded.combiner is not None and loaded.similarity is not None


def test_margins_follow_the_coefficients_they_are_given_after_a_swap(tmp_path):
    """The serving coefficients are kept transposed (a copy per message was 1-2 ms); replacing them, as
    loading another model does, must never leave the old transpose in use."""
    blocks, labels = blobs(4)
    model = IntentModel(folds=3).fit(blocks, labels)
    test_blocks, _ = blobs(5, per_intent=5)
    X = model._features(test_blocks)
    expected = np.asarray(X @ model.coef.T + model.intercept)
    np.testing.assert_allclose(model._margins(X, model.coef, model.intercept), expected, rtol=1e-5, atol=1e-6)
    model.coef = -model.coef  # same shape, other values
    np.testing.assert_allclose(model._margins(X, model.coef, model.intercept),
                               np.asarray(X @ model.coef.T + model.intercept), rtol=1e-5, atol=1e-6)
    other = np.ones_like(model.coef)  # coefficients of a calibration fold, not the serving ones
    np.testing.assert_allclose(model._margins(X, other, model.intercept),
                               np.asarray(X @ other.T + model.intercept), rtol=1e-5, atol=1e-6)


def far_away(seed: int, n: int = 20):
    """Messages unlike every intent: dense vectors on unused axes, no shared keyword."""
    rng = np.random.default_rng(seed)
    dense = np.eye(16)[rng.integers(8, 16, n)] + rng.normal(0, 0.2, (n, 16))
    dense /= np.linalg.norm(dense, axis=1, keepdims=True)
    counts = np.zeros((n, 40))
    counts[np.arange(n), rng.integers(10, 40, n)] = 1
    return {"minilm": dense.astype(np.float32), "char_ngrams": sp.csr_matrix(counts)}


def test_without_out_of_scope_examples_intents_left_out_teach_it_to_reject():
    blocks, labels = blobs(6)
    knn = IntentModel(folds=5).fit(blocks, labels)
    assert knn.report["detector"] == "knn" and knn.report["pseudo_oos_examples"] == len(labels)
    _, off_topic = knn.predict(far_away(7))
    test_blocks, test_labels = blobs(8, per_intent=10)
    probs, in_scope = knn.predict(test_blocks)
    assert (off_topic < knn.threshold).mean() >= 0.9  # rejected
    assert np.mean([(s >= knn.threshold) and knn.classes[i] == g
                    for i, s, g in zip(probs.argmax(1), in_scope, test_labels)]) >= 0.9  # answered, right


def test_a_higher_expected_out_of_scope_share_raises_the_threshold():
    blocks, labels = blobs(9, per_intent=20)
    thresholds = [IntentModel(folds=3, expected_oos_share=share, max_fallback_rate=0.5).fit(blocks, labels).threshold
                  for share in (0.05, 0.5, 0.95)]
    assert thresholds[0] <= thresholds[1] <= thresholds[2] and thresholds[0] < thresholds[2]


def test_the_share_moves_the_threshold_in_the_expected_direction_on_fixed_scores():
    # in-scope: right with score 0.9 or 0.6, wrong with 0.5; out-of-scope messages score 0.3-0.8
    score = np.array([0.9] * 70 + [0.6] * 20 + [0.5] * 10 + list(np.linspace(0.3, 0.8, 50)))
    correct = np.array([True] * 90 + [False] * 10 + [False] * 50)
    is_oos = np.array([False] * 100 + [True] * 50)
    none = np.zeros(150, bool)
    low, high = (choose_threshold(score, correct, is_oos, none, 0.5, share) for share in (0.05, 0.9))
    assert 0.5 < low.threshold <= 0.6 and high.threshold > 0.8  # few expected: keep the 0.6 answers
    assert low.oos_recall < high.oos_recall and low.in_scope_accuracy > high.in_scope_accuracy


def test_changed_features_are_refused_with_a_fix():
    blocks, labels = blobs(4)
    model = IntentModel(folds=3).fit(blocks, labels)
    with pytest.raises(ValueError, match="retrain"):
        model.predict_proba({"minilm": blocks["minilm"]})
    with pytest.raises(ValueError, match="retrain"):
        model.predict_proba({"minilm": blocks["minilm"][:, :8], "char_ngrams": blocks["char_ngrams"]})


def test_one_intent_is_not_enough():
    blocks, labels = blobs(5)
    with pytest.raises(ValueError, match="two intents"):
        IntentModel().fit(blocks, ["greet"] * len(labels))


def test_temperature_recovers_the_scale_that_generated_the_labels():
    rng = np.random.default_rng(0)
    margins = rng.normal(0, 1, (4000, 5))
    probs = softmax(3.0 * margins)
    y = np.array([rng.choice(5, p=p) for p in probs])
    assert fit_temperature(margins, y) == pytest.approx(3.0, rel=0.1)


def test_threshold_rejects_only_where_answers_are_more_often_wrong():
    # confidence 0.9: always right; 0.3: wrong 3 times out of 4 -> threshold sits between them
    confidence = np.array([0.9] * 8 + [0.3] * 4)
    correct = np.array([True] * 8 + [True, False, False, False])
    none = np.zeros(12, bool)
    choice = choose_threshold(confidence, correct, none, none, max_fallback_rate=0.5)
    assert 0.3 < choice.threshold <= 0.9 and choice.in_scope_fallback_rate == pytest.approx(4 / 12)
    capped = choose_threshold(confidence, correct, none, none, max_fallback_rate=0.1)
    assert capped.threshold == 0.0  # rejecting a third of in-scope messages is not allowed


def test_a_few_out_of_scope_examples_do_not_outweigh_the_in_scope_traffic():
    # 1000 in-scope answers: right at 0.9, at 0.6 right 9 times out of 10; 10 out-of-scope examples,
    # one of them scored 0.65. Rejecting below 0.7 would catch it but drop 10 % of good answers.
    confidence = np.array([0.9] * 900 + [0.6] * 100 + [0.2] * 9 + [0.65])
    correct = np.array([True] * 900 + [True] * 90 + [False] * 10 + [False] * 10)
    is_oos = np.array([False] * 1000 + [True] * 10)
    predicted_oos = np.zeros(1010, bool)
    shared = choose_threshold(confidence, correct, is_oos, predicted_oos, oos_share=0.2)
    assert shared.threshold <= 0.6 and shared.oos_recall == pytest.approx(0.9)
    equal = choose_threshold(confidence, correct, is_oos, predicted_oos, oos_share=0.5)
    assert equal.threshold > 0.65  # weighing the 10 examples like all other traffic lets one decide


def test_sparse_blocks_get_exactly_sklearns_sublinear_tfidf():
    from sklearn.feature_extraction.text import TfidfTransformer

    from rasa_plugins.block_scaler import BlockScaler

    counts = sp.csr_matrix(np.random.default_rng(0).poisson(0.3, (50, 30)).astype(np.float32))
    scaler = BlockScaler(dense_weight=2.0, sparse_weight=1.5).fit({"ngrams": counts})
    expected = TfidfTransformer(sublinear_tf=True).fit_transform(counts).toarray() * 1.5
    np.testing.assert_allclose(scaler.transform({"ngrams": counts}).toarray(), expected, rtol=1e-5, atol=1e-6)


def test_one_message_at_a_time_scores_as_the_batch():
    """Serving scores a message against its predicted intent's examples only; the batch path against all:
    the same answerable scores, one message at a time or forty together, and ClassSimilarity agrees with itself."""
    from rasa_plugins.oos_detector import ClassSimilarity

    blocks, labels = blobs(9)
    model = IntentModel(folds=3).fit(blocks, labels)
    test_blocks, _ = blobs(10, per_intent=10)
    n = test_blocks["minilm"].shape[0]
    assert n > 16  # the batch path
    probs, batch = model.predict(test_blocks)
    single = [model.predict({k: v[i:i + 1] for k, v in test_blocks.items()})[1][0] for i in range(n)]
    np.testing.assert_allclose(single, batch, rtol=1e-5, atol=1e-6)
    sim = model.similarity
    queries = test_blocks["minilm"]
    pred = probs.argmax(axis=1)
    one_by_one = [sim.of_classes(queries[i:i + 1], pred[i:i + 1])[0] for i in range(n)]  # the per-class loop
    np.testing.assert_allclose(one_by_one, sim(queries)[np.arange(n), pred], atol=1e-6)
    np.testing.assert_allclose(sim.of_classes(queries, pred), one_by_one, atol=1e-6)  # the batch product
    lonely = ClassSimilarity(queries[:3], np.array([0, 0, 2]), 4)  # classes 1 and 3 have no examples
    assert list(lonely.of_classes(queries[:2], np.array([1, 3]))) == [-1.0, -1.0]


def test_a_minimum_recall_answers_the_most_in_scope_messages_that_keep_it():
    # the fixed scores of the share test: out-of-scope messages score 0.3-0.8, in-scope ones 0.5-0.9
    score = np.array([0.9] * 70 + [0.6] * 20 + [0.5] * 10 + list(np.linspace(0.3, 0.8, 50)))
    correct = np.array([True] * 90 + [False] * 10 + [False] * 50)
    is_oos = np.array([False] * 100 + [True] * 50)
    none = np.zeros(150, bool)
    half = choose_threshold(score, correct, is_oos, none, 1.0, min_oos_recall=0.5)
    most = choose_threshold(score, correct, is_oos, none, 1.0, min_oos_recall=0.9)
    assert half.oos_recall >= 0.5 and most.oos_recall >= 0.9
    assert half.in_scope_accuracy == 0.9 and most.in_scope_accuracy == 0.7  # keeps the 0.6 answers only when it can
    unreachable = choose_threshold(score, correct, is_oos, none, 0.05, min_oos_recall=0.99)  # capped at 5 % fallbacks
    assert unreachable.utility < -1.0 < half.utility  # below every choice that reaches the recall
