"""The promotion gate: a new model replaces the serving one only when it is better by a set margin.

Both models are measured on the same held-out cases in the same run, so the comparison is fair even
when the held-out data changed since the serving model was trained. When nothing serves yet, the
baseline is the un-tuned base encoder: a fine-tune that cannot beat the model it started from —
one trained on shuffled pairs, say — is never promoted.

Quality is not enough: a model whose response bank (the agent replies it can send) still holds
personal data the PII engine detects is refused whatever its metrics, and the reason names those
replies by id, kinds and redacted text (never the personal data itself), so one customer's name
or address can never be shown to another.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

SHOWN_LEAKS = 5  # replies named in the reason; every one is in the metrics


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

    def decide(self, candidate: dict, baseline: dict, baseline_name: str,
               bank_leaks: list[dict] = ()) -> GateDecision:
        if bank_leaks:
            shown = "; ".join(f"#{x['id']} ({', '.join(x['kinds'])}) {x['redacted']!r}" for x in bank_leaks[:SHOWN_LEAKS])
            more = f" and {len(bank_leaks) - SHOWN_LEAKS} more" if len(bank_leaks) > SHOWN_LEAKS else ""
            reason = (f"the response bank still contains personal data in {len(bank_leaks)} "
                      f"repl{'y' if len(bank_leaks) == 1 else 'ies'}: {shown}{more}; not promoted, keeping "
                      f"{baseline_name} (check the anonymisation of the logs, then retrain)")
            return GateDecision(False, reason, self.metric, self.margin, candidate, baseline, baseline_name)
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


def bank_leaks(model_dir: Path, log: Callable[[str], None] = lambda _m: None, engine=None) -> list[dict]:
    """Replies of the model's response bank (`responses.jsonl`) in which the PII engine still finds
    personal data: `{"id", "kinds", "redacted"}` each. A model without a bank (the generator) has none."""
    path = Path(model_dir) / "responses.jsonl"
    if not path.is_file():
        return []
    if engine is None:
        from privacy import get_engine

        engine = get_engine()
    replies = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    log(f"  scanning {len(replies)} replies of the response bank for personal data")
    leaks = []
    for reply in replies:
        red = engine.redact(reply["text"])
        if red.entities:
            leaks.append({"id": reply["id"], "kinds": sorted({e.kind for e in red.entities}), "redacted": red.text})
    return leaks
