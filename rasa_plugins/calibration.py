"""Turning classifier margins into calibrated confidences and a learnt fallback threshold.

Both are fitted on out-of-fold predictions (every training message scored by a model that did not
see it), never on the data that trained the final model and never on an evaluation split:
  * `fit_temperature`: one scalar T so that softmax(T * margins) has the lowest log-loss;
  * `choose_threshold`: the score (the detector's, or the confidence) below which the classifier answers
    `nlu_fallback`;
  * `operating_curve`: what other thresholds would have given (for `supportbot eval intents`).

The threshold maximises the expected utility of one message, in the terms a support bot cares about:
an answered in-scope message scores +1 when the intent is right and -1 when it is wrong, a fallback
scores 0 (the knowledge base and a human still get a chance); an out-of-scope message scores +1 when
rejected and -1 when answered. The two kinds are weighed by their expected share of the traffic
(`oos_share` here; the component's `expected_oos_share`, default 0.5), not by how many examples of each
the training data holds. Out-of-scope examples are the bot's own and, with the kNN detector, the
pseudo-out-of-scope ones of `rasa_plugins.oos_detector`.

With `min_oos_recall` set (a bot with its own out-of-scope examples), the choice is instead the threshold
with the most right in-scope answers among those rejecting at least that share of the out-of-scope
examples: an owner who must keep recall at 0.85 says so, and gets the most answers that allows.

Why not weigh both kinds equally: the first held-out run did, and with 88 out-of-scope examples one
of them (1/88 of recall) outweighed ~7 % of in-scope answers and lifted the threshold to 0.73
(docs/nlu.md, docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def fit_temperature(margins: np.ndarray, y: np.ndarray) -> float:
    """The T minimising the negative log-likelihood of softmax(T * margins) (bounded 1e-2..1e3)."""
    from scipy.optimize import minimize_scalar

    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        logits = np.exp(log_t) * margins
        logits = logits - logits.max(axis=1, keepdims=True)
        log_norm = np.log(np.exp(logits).sum(axis=1))
        return float(np.mean(log_norm - logits[rows, y]))

    result = minimize_scalar(nll, bounds=(np.log(1e-2), np.log(1e3)), method="bounded")
    return float(np.exp(result.x))


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        sel = (confidence > lo) & (confidence <= hi)
        if sel.any():
            ece += sel.mean() * abs(confidence[sel].mean() - correct[sel].mean())
    return float(ece)


@dataclass
class ThresholdChoice:
    threshold: float
    utility: float
    in_scope_accuracy: float  # answered and right, over in-scope messages
    in_scope_fallback_rate: float
    oos_recall: float | None  # rejected (fallback or an out-of-scope intent), over out-of-scope messages
    oos_examples: int

    def as_dict(self) -> dict:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(self).items()}


def choose_threshold(
    confidence: np.ndarray,
    correct: np.ndarray,
    is_oos: np.ndarray,
    predicted_oos: np.ndarray,
    max_fallback_rate: float = 0.15,
    oos_share: float = 0.2,
    min_oos_recall: float | None = None,
) -> ThresholdChoice:
    """Best threshold on out-of-fold predictions (see module docstring); ties go to the lower one.

    confidence: calibrated probability of the predicted intent; correct: prediction == label;
    is_oos: the label is an out-of-scope intent; predicted_oos: the prediction is one.
    Thresholds that would send more than `max_fallback_rate` of in-scope messages to the fallback
    are not considered (guards against a handful of out-of-scope examples dictating everything).
    `min_oos_recall` (with out-of-scope rows): utility is the in-scope accuracy where recall reaches it, and
    below −1 (by the recall missing) where it does not, so choices under other settings compare by `utility`.
    """
    inside = ~is_oos
    n_in, n_oos = int(inside.sum()), int(is_oos.sum())
    candidates = np.unique(np.concatenate([[0.0], np.round(confidence, 4)]))
    best: ThresholdChoice | None = None
    for t in candidates:
        rejected = predicted_oos | (confidence < t)
        fallback_rate = float((rejected & inside).sum() / max(n_in, 1))
        if fallback_rate > max_fallback_rate and t > 0:
            break
        answered_in = inside & ~rejected
        right = float((answered_in & correct).sum() / max(n_in, 1))
        wrong = float((answered_in & ~correct).sum() / max(n_in, 1))
        utility = right - wrong
        recall = None
        if n_oos:
            recall = float((rejected & is_oos).sum() / n_oos)
            if min_oos_recall is not None:
                utility = right if recall >= min_oos_recall else recall - min_oos_recall - 1.0
            else:
                utility = (1.0 - oos_share) * utility + oos_share * (recall - (1.0 - recall))
        if best is None or utility > best.utility + 1e-12:
            best = ThresholdChoice(float(t), utility, right, fallback_rate, recall, n_oos)
    assert best is not None
    return best


def operating_curve(score: np.ndarray, correct: np.ndarray, is_oos: np.ndarray, predicted_oos: np.ndarray,
                    thresholds: np.ndarray | None = None) -> list[dict]:
    """In-scope accuracy and out-of-scope recall if the fallback threshold were each of `thresholds`.

    score: the value the threshold applies to (answerable score, or confidence); correct: the best
    real intent is the label; is_oos: the label is out of scope; predicted_oos: the best intent is an
    out-of-scope intent (rejected at any threshold). Recall is None without out-of-scope rows.
    """
    if thresholds is None:
        thresholds = np.round(np.linspace(0.0, 0.95, 20), 2)
    inside = ~is_oos
    curve = []
    for t in thresholds:
        rejected = predicted_oos | (score < t)
        right = np.where(is_oos, rejected, ~rejected & correct)
        curve.append({
            "threshold": round(float(t), 4),
            "in_scope_accuracy": round(float(right[inside].mean()), 4) if inside.any() else None,
            "oos_recall": round(float(rejected[is_oos].mean()), 4) if is_oos.any() else None,
            "accuracy": round(float(right.mean()), 4) if len(right) else None,
        })
    return curve
