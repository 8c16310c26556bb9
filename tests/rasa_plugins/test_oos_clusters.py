"""A bot's own out-of-scope examples split into clusters: structure, and what it buys on data a single
linear out-of-scope class cannot separate (small real matrices, the real `IntentModel`)."""

from __future__ import annotations

import numpy as np

from rasa_plugins.intent_model import IntentModel
from rasa_plugins.oos_clusters import class_margins, split_classes

# in-scope intents around +x0, +x2, -x2; out of scope: two topics on either side of +x0 (x0 + x1, x0 - x1).
# Linear class scores give every class a convex region, and `block_card` lies between the two topics, so
# one `oos` class cannot win on both without also winning on `block_card`.
CENTRES = {"block_card": (1, 0, 0), "top_up": (0, 0, 1), "withdraw": (0, 0, -1)}
OOS_TOPICS = ((1, 1, 0), (1, -1, 0))


def ring(seed: int, per_intent: int, per_oos_topic: int, topics=OOS_TOPICS, noise: float = 0.1):
    rng = np.random.default_rng(seed)
    vectors, labels = [], []
    for name, centre in list(CENTRES.items()) + [("oos", c) for c in topics]:
        n = per_oos_topic if name == "oos" else per_intent
        mean = np.zeros(8)
        mean[:3] = np.array(centre) / np.linalg.norm(centre)
        v = mean + rng.normal(0, noise, (n, 8))
        vectors.append(v / np.linalg.norm(v, axis=1, keepdims=True))
        labels += [name] * n
    return {"minilm": np.vstack(vectors).astype(np.float32)}, labels


def test_split_classes_keeps_rows_ordered_by_class_and_small_classes_whole():
    rng = np.random.default_rng(0)
    y = np.array([0] * 30 + [1] * 250 + [2] * 40)
    vectors = rng.normal(0, 1, (len(y), 4))
    rows, row_class = split_classes(y, 3, [1, 2], vectors, cluster_size=100, seed=0)
    assert row_class.tolist() == [0, 1, 1, 2]  # 250 // 100 = 2 clusters; 40 < 2 * 100 stays one row
    assert set(rows[y == 1]) == {1, 2} and set(rows[y == 0]) == {0} and set(rows[y == 2]) == {3}
    rows_off, row_class_off = split_classes(y, 3, [1], vectors, cluster_size=0, seed=0)
    assert row_class_off.tolist() == [0, 1, 2] and np.array_equal(rows_off, y)


def test_class_margins_take_the_best_row_of_each_class():
    margins = np.array([[0.1, -0.5, 0.7, 0.2], [0.9, 0.3, -0.2, -1.0]])
    np.testing.assert_allclose(class_margins(margins, np.array([0, 1, 1, 2])), [[0.1, 0.7, 0.2], [0.9, 0.3, -1.0]])
    np.testing.assert_array_equal(class_margins(margins, np.arange(4)), margins)


def test_clusters_catch_out_of_scope_topics_one_linear_class_cannot():
    blocks, labels = ring(0, per_intent=40, per_oos_topic=60)
    test_blocks, test_labels = ring(1, per_intent=20, per_oos_topic=20)
    gold = np.array(test_labels)

    def recall_and_accuracy(model):
        pred = np.array([model.classes[i] for i in model.predict_proba(test_blocks).argmax(1)])
        return (pred[gold == "oos"] == "oos").mean(), (pred == gold)[gold != "oos"].mean()

    # the linear SVM alone: the kernel SVM beside it follows both topics by itself (the next test)
    one = IntentModel(folds=3, oos_intents=("oos",), oos_cluster_size=0, kernel_weight=0.0).fit(blocks, labels)
    split = IntentModel(folds=3, oos_intents=("oos",), oos_cluster_size=50, kernel_weight=0.0).fit(blocks, labels)
    assert one.report["oos_clusters"] == 1 and split.report["oos_clusters"] == 2
    assert split.classes == one.classes  # still one `oos` intent outside the model
    recall_one, accuracy_one = recall_and_accuracy(one)
    recall_split, accuracy_split = recall_and_accuracy(split)
    assert recall_split >= 0.95 and accuracy_split >= 0.95
    assert recall_one + accuracy_one <= recall_split + accuracy_split - 0.15  # one class gives up an intent or a topic


def test_the_kernel_svm_beside_the_linear_one_catches_both_topics_with_one_class():
    blocks, labels = ring(0, per_intent=40, per_oos_topic=60)
    test_blocks, test_labels = ring(1, per_intent=20, per_oos_topic=20)
    gold = np.array(test_labels)
    linear = IntentModel(folds=3, oos_intents=("oos",), oos_cluster_size=0, kernel_weight=0.0).fit(blocks, labels)
    both = IntentModel(folds=3, oos_intents=("oos",), oos_cluster_size=0, kernel_weight=0.5).fit(blocks, labels)
    assert linear.kernel is None and both.report["kernel"]["support_vectors"] > 0

    def right(model):
        return (np.array([model.classes[i] for i in model.predict_proba(test_blocks).argmax(1)]) == gold).mean()

    assert right(both) >= 0.95 and right(both) >= right(linear) + 0.1


def test_enough_own_out_of_scope_examples_choose_the_threshold_alone(tmp_path):
    blocks, labels = ring(2, per_intent=40, per_oos_topic=60)
    own = IntentModel(folds=3, oos_intents=("oos",), oos_cluster_size=50, own_oos_enough=100).fit(blocks, labels)
    mixed = IntentModel(folds=3, oos_intents=("oos",), oos_cluster_size=50, own_oos_enough=0).fit(blocks, labels)
    assert own.report["threshold_from"] == "own out-of-scope examples"
    assert own.report["out_of_fold_at_threshold"]["oos_examples"] == 120
    assert mixed.report["threshold_from"].startswith("own and pseudo")
    assert mixed.report["out_of_fold_at_threshold"]["oos_examples"] > 120
    own.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    test_blocks, _ = ring(3, per_intent=5, per_oos_topic=5)
    assert loaded.row_class.tolist() == own.row_class.tolist()
    for before, after in zip(own.predict(test_blocks), loaded.predict(test_blocks)):
        np.testing.assert_allclose(after, before, rtol=1e-6)


def overlapping(seed: int, per_intent: int, per_oos: int):
    """Out of scope: a topic beside `block_card` (they overlap) and one far from every intent."""
    return ring(seed, per_intent, per_oos, topics=((1, 0.25, 0), (0, 1, 0)), noise=0.12)


def test_a_lower_required_recall_weighs_out_of_scope_down_and_answers_more(tmp_path):
    blocks, labels = overlapping(0, per_intent=60, per_oos=120)
    test_blocks, test_labels = overlapping(1, per_intent=30, per_oos=30)
    gold = np.array(test_labels)

    def fit(**options):
        return IntentModel(folds=3, oos_intents=("oos",), own_oos_enough=100, kernel_weight=0.5,
                           **options).fit(blocks, labels)

    low, high, fixed = fit(min_oos_recall=0.5), fit(min_oos_recall=0.95), fit(min_oos_recall=0.5, oos_weights=(1.0,))
    assert fixed.oos_weight == 1.0
    assert low.oos_weight <= high.oos_weight and low.oos_weight < 1.0
    chosen_low, chosen_high = (m.report["out_of_fold_at_threshold"] for m in (low, high))
    assert chosen_low["oos_recall"] >= 0.5 and chosen_high["oos_recall"] >= 0.95
    assert chosen_low["in_scope_accuracy"] >= chosen_high["in_scope_accuracy"] + 0.05

    def held_out(model):  # (in-scope answered right, out-of-scope rejected) on messages it never saw
        probs, score = model.predict(test_blocks)
        pred = np.array([model.classes[i] for i in probs.argmax(1)])
        rejected = (pred == "oos") | (score < model.threshold)
        return (~rejected & (pred == gold))[gold != "oos"].mean(), rejected[gold == "oos"].mean()

    (in_low, recall_low), (in_high, recall_high) = held_out(low), held_out(high)
    assert in_low > in_high and recall_low < recall_high
    low.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    assert loaded.oos_weight == low.oos_weight and loaded.kernel is not None
    assert loaded.mix_temperature == low.mix_temperature != 1.0
    np.testing.assert_allclose(loaded.predict(test_blocks)[0], low.predict(test_blocks)[0], rtol=1e-5)
