"""One calibrated model's operating point: the out-of-scope detector fitted and the threshold chosen on
out-of-fold predictions.

Role: `rasa_plugins.intent_model` calls `choose_point` once per out-of-scope weight it tries and keeps the point
with the best `choice.utility` (`rasa_plugins.calibration.choose_threshold`: the expected-share utility, or the
in-scope accuracy that keeps `min_oos_recall`). Invariants: the bot's own examples come first in every array,
the pseudo-out-of-scope ones (intents left out, `rasa_plugins.oos_detector`) after them; with `own` (enough
real out-of-scope examples) the pseudo ones only train the detector and the threshold is chosen on the own
ones. Plain numpy in, plain data out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rasa_plugins.calibration import ThresholdChoice, choose_threshold
from rasa_plugins.oos_detector import Combiner, features


@dataclass
class Point:
    choice: ThresholdChoice
    combiner: Combiner | None  # None: the threshold applies to the confidence
    confidence: np.ndarray  # own examples, then pseudo ones
    correct: np.ndarray
    pseudo_examples: int


def choose_point(probs: np.ndarray, y: np.ndarray, sims: np.ndarray | None, pseudo: tuple | None,
                 oos_ids: list[int], own: bool, max_fallback_rate: float, expected_oos_share: float,
                 min_oos_recall: float | None, seed: int) -> Point:
    """probs: out-of-fold probabilities of the bot's examples (labels `y`); sims: their similarity to each
    intent's examples (None: no kNN detector); pseudo: (confidence, predicted intent, detector features) of
    the pseudo-out-of-scope examples, or None."""
    pred = probs.argmax(axis=1)
    confidence = probs.max(axis=1)
    correct = pred == y
    is_oos, predicted_oos = np.isin(y, oos_ids), np.isin(pred, oos_ids)
    score, combiner, n_pseudo = confidence, None, 0
    if pseudo is not None:
        p_conf, p_pred, p_x = pseudo
        n_pseudo = len(p_x)
        x = features(confidence, sims[np.arange(len(pred)), pred] if sims is not None else np.zeros(len(pred)))
        all_x = np.vstack([x, p_x])
        target = np.concatenate([correct & ~is_oos & ~predicted_oos, np.zeros(n_pseudo, bool)])
        kinds = [np.concatenate([~is_oos, np.zeros(n_pseudo, bool)]),
                 np.concatenate([is_oos, np.zeros(n_pseudo, bool)]),
                 np.concatenate([np.zeros(len(y), bool), np.ones(n_pseudo, bool)])]
        combiner = Combiner().fit(all_x, target, kinds, seed)
        score = combiner.score(all_x)
        correct = np.concatenate([correct, np.zeros(n_pseudo, bool)])
        is_oos = np.concatenate([is_oos, np.ones(n_pseudo, bool)])
        predicted_oos = np.concatenate([predicted_oos, np.isin(p_pred, oos_ids)])
        confidence = np.concatenate([confidence, p_conf])
    keep = slice(0, len(y)) if own else slice(None)
    choice = choose_threshold(score[keep], correct[keep], is_oos[keep], predicted_oos[keep],
                              max_fallback_rate, expected_oos_share, min_oos_recall if own else None)
    return Point(choice, combiner, confidence, correct, n_pseudo)
