"""The promotion gate: a new model replaces the serving one only when it is better by a set margin.

Both models are measured on the same held-out cases in the same run, so the comparison is fair even
when the held-out data changed since the serving model was trained. When nothing serves yet, the
baseline is the un-tuned base encoder: a fine-tune that cannot beat the model it started from —
one trained on shuffled pairs, say — is never promoted.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass
class GateDecision:
    promote: bool
    reason: str
    metric: str
    margin: float
    candidate: dict
    baseline: dict
    baseline_name: str

    def as_dict(self) -> dict:
        return asdict(self)


class PromotionGate:
    """Promote iff candidate[metric] >= baseline[metric] + margin and MRR does not get worse."""

    def __init__(self, metric: str = "recall@1", margin: float = 0.02):
        self.metric = metric
        self.margin = margin

    def decide(self, candidate: dict, baseline: dict, baseline_name: str) -> GateDecision:
        c, b = candidate[self.metric], baseline[self.metric]
        needed = round(b + self.margin, 4)
        if c < needed:
            reason = (f"{self.metric} {c:.4f} does not beat {baseline_name} ({b:.4f}) by the margin "
                      f"{self.margin}: needed {needed:.4f}; keeping {baseline_name}")
            return GateDecision(False, reason, self.metric, self.margin, candidate, baseline, baseline_name)
        if candidate.get("mrr", 0.0) < baseline.get("mrr", 0.0):
            reason = (f"{self.metric} improved ({b:.4f} -> {c:.4f}) but MRR fell "
                      f"({baseline['mrr']:.4f} -> {candidate['mrr']:.4f}); keeping {baseline_name}")
            return GateDecision(False, reason, self.metric, self.margin, candidate, baseline, baseline_name)
        reason = f"{self.metric} {b:.4f} -> {c:.4f} (margin {self.margin}) beats {baseline_name}: promoted"
        return GateDecision(True, reason, self.metric, self.margin, candidate, baseline, baseline_name)
