"""What each `eval intents` metric counts, on hand-made predictions (no Rasa needed)."""

from __future__ import annotations

from nlu.evaluate import REJECTED, Scores

GOLD = ["a", "a", "b", "b"]
FINAL = ["a", REJECTED, "b", "a"]  # right, rejected (its best intent was right), right, wrong
TOP1 = ["a", "a", "b", "a"]


def test_closed_set_accuracy_is_top1_and_the_fallback_cost_is_reported_beside_it():
    m = Scores(GOLD, FINAL, TOP1, oos_label=None).metrics()
    assert m["accuracy"] == m["top1_accuracy"] == 0.75
    assert m["answered_accuracy"] == 0.5  # the rejection counted as wrong
    assert m["in_scope_fallback_rate"] == 0.25
    assert "oos_recall" not in m


def test_open_set_accuracy_grades_rejections():
    gold, final, top1 = GOLD + ["oos", "oos"], FINAL + [REJECTED, "b"], TOP1 + ["b", "b"]
    m = Scores(gold, final, top1, oos_label="oos").metrics()
    assert m["accuracy"] == m["answered_accuracy"] == 0.5  # a, b and the rejected oos row of 6
    assert m["top1_accuracy"] == 0.75  # over in-scope rows only
    assert m["in_scope_accuracy"] == 0.5
    assert m["oos_recall"] == 0.5 and m["oos_precision"] == 0.5


def test_a_part_of_the_test_is_scored_on_its_own():
    from nlu.evaluate import _subset_metrics

    scores = Scores(GOLD, FINAL, TOP1, oos_label=None)
    part = _subset_metrics([2, 3], scores)  # the two "b" rows: one right, one wrong
    assert part == {"accuracy": 0.5, "top1_accuracy": 0.5, "answered_accuracy": 0.5,
                    "in_scope_fallback_rate": 0.0, "n": 2}
    assert _subset_metrics([], scores) == {"n": 0}


def test_did_you_mean_counts_wrong_best_intents_whose_right_intent_was_offered():
    from nlu.evaluate import REJECTED, Scores, _alternatives

    def ranking(*pairs):
        return {"intent_ranking": [{"name": n, "confidence": c} for n, c in pairs]}
    preds = [ranking(("a", 0.5), ("b", 0.4)),  # best a wrong (gold b), b offered: rescued
             ranking(("a", 0.9), ("b", 0.05)),  # right, nothing offered
             ranking(("b", 0.5), ("c", 0.1)),  # wrong (gold c), c not close enough
             ranking(("nlu_fallback", 0.3), ("a", 0.2), ("c", 0.15)),  # fallback: best real a wrong, c offered
             ranking(("a", 0.5), ("oos", 0.45), ("b", 0.3))]  # gold oos: out-of-scope rows are not counted
    scores = Scores(gold=["b", "a", "c", "c", "oos"], final=["a", "a", "b", REJECTED, "a"],
                    top1=["a", "a", "b", "a", "a"], oos_label="oos")
    got = _alternatives(preds, scores, ratio=0.5)
    assert got == {"ratio": 0.5, "offered_rate": 0.5, "wrong_top1": 3, "wrong_with_right_offered": 2,
                   "top1_or_offered_accuracy": 0.75}  # (1 right + 2 rescued) of 4 in-scope rows
    assert _alternatives([{}] * 5, scores) is None
