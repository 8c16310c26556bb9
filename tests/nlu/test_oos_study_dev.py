"""The large set's dev split for design studies: carved from TRAIN only, per label, reproducibly."""

from __future__ import annotations

import csv
from collections import Counter

from data.prepare.banking77 import OOS_DEV_SOURCE, read_questions
from nlu.oos_study import best_at_recall, large_dev


def test_dev_is_a_fifth_of_every_label_of_train_plus_the_dev_questions(tmp_path):
    path = tmp_path / "train.csv"
    labelled = [(f"card {i} arrived?", "card_arrival") for i in range(50)]
    labelled += [(f"top up {i} failed", "top_up_failed") for i in range(20)]
    labelled += [(f"weather {i}", "oos") for i in range(10)]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "intent"])
        writer.writerows(labelled)
    train, dev = large_dev(path)
    hand = read_questions(OOS_DEV_SOURCE)
    carved = dev[: len(dev) - len(hand)]
    assert Counter(i for _, i in carved) == {"card_arrival": 10, "top_up_failed": 4, "oos": 2}
    assert dev[len(carved):] == [(t, "oos") for t in hand] and len(hand) >= 50
    assert sorted(train + carved) == sorted(labelled)  # nothing lost, nothing in both
    assert large_dev(path) == (train, dev) and large_dev(path, seed=1) != (train, dev)


def test_best_point_at_recall_keeps_recall_and_maximises_in_scope_accuracy():
    import numpy as np

    gold = np.array(["a", "a", "b", "b", "oos", "oos", "oos", "oos"])
    pred = np.array(["a", "a", "b", "a", "oos", "a", "b", "a"])
    answerable = np.array([0.9, 0.5, 0.8, 0.3, 0.1, 0.2, 0.4, 0.6])
    best = best_at_recall(answerable, pred, gold, gold == "oos", ("oos",), recall=0.75)
    assert best == {"threshold": 0.5, "in_scope_accuracy": 0.75, "oos_recall": 0.75}


def test_score_reports_the_closed_set_cap_beside_the_operating_point():
    import numpy as np

    from nlu.oos_study import score
    from rasa_plugins.intent_model import IntentModel

    rng = np.random.default_rng(0)
    centres = {name: rng.normal(size=16) for name in ("a", "b", "c", "oos")}

    def blocks(labels, spread):
        return {"minilm": np.array([centres[x] + rng.normal(scale=spread, size=16) for x in labels], dtype=np.float32)}

    train = [x for x in ("a", "b", "c", "oos") for _ in range(30)]
    model = IntentModel(folds=3, pseudo_oos_groups=2).fit(blocks(train, 0.3), train)
    gold = ["a", "b", "c"] * 10 + ["oos"] * 10
    test = blocks(gold, 1.2)  # wide: some in-scope rows fall to another intent or to `oos`
    result = score(model, test, gold)
    probs, _ = model.predict(test)
    in_scope = [i for i, c in enumerate(model.classes) if c != "oos"]
    best = [model.classes[in_scope[j]] for j in probs[:, in_scope].argmax(axis=1)]
    expected = np.mean([b == g for b, g in zip(best, gold) if g != "oos"])
    assert result["closed_set_in_scope"] == round(float(expected), 4)
    assert result["closed_set_in_scope"] >= result["in_scope_accuracy"]
