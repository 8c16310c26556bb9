"""When a learnt reply answers a turn ahead of the knowledge base: the selector's own score threshold.

A response model learnt from support logs knows the flows those logs cover (reporting fraud,
asking for a balance); the knowledge base knows the questions its articles answer. The two are told
apart by the model itself: after training, the retrain pipeline scores a seeded sample of KB
questions (the Banking77 NLU *training* examples, data/nlu/banking77.yml, each as a one-turn
context, exactly as the action server formats a first message) and records the
`response_learnt_quantile` quantile of the model's top scores as `routing.learnt_min_score` in the
model's manifest. At serving time a typed message whose top learnt reply scores at or above it is a
flow the logs cover better than any KB question does, and gets the learnt reply
(`actions.knowledge.decide`); anything below it follows the ordinary rule → KB → learnt → fallback
route. The threshold belongs to the model: every retrain recalibrates it, so a model never inherits
a score scale that is not its own.

Invariant: only training-side data is used (NLU training examples, never the evaluation split or
the held-out logs), so `supportbot eval learnt-routing` can measure the rule on unseen data.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import yaml

from core.settings import ROOT

KB_QUESTIONS = ROOT / "data" / "nlu" / "banking77.yml"
SAMPLE = 400
SEED = 7


def nlu_examples(path: Path) -> dict[str, list[str]]:
    """{intent: [example texts]} of a Rasa NLU YAML file (entity annotations removed)."""
    out: dict[str, list[str]] = {}
    for block in yaml.safe_load(Path(path).read_text(encoding="utf-8"))["nlu"]:
        if "intent" in block:
            lines = [line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")]
            out[block["intent"]] = [" ".join(line.replace("[", "").split("](")[0].split()) for line in lines]
    return out


def kb_questions(path: Path = KB_QUESTIONS, n: int = SAMPLE, seed: int = SEED) -> list[str]:
    """A seeded sample of `n` KB questions, spread over the intents (round robin)."""
    by_intent = [list(texts) for _, texts in sorted(nlu_examples(path).items()) if texts]
    rng = random.Random(seed)
    for texts in by_intent:
        rng.shuffle(texts)
    out: list[str] = []
    depth = 0
    while len(out) < n and any(depth < len(t) for t in by_intent):
        out += [t[depth] for t in by_intent if depth < len(t)]
        depth += 1
    return out[:n]


def top_scores(model, messages: list[str]) -> np.ndarray:
    """The model's best reply score for each message as a customer's first turn."""
    from finetune.pairs import format_context

    turns = int(model.manifest.get("context_turns", 3))
    contexts = [format_context([{"speaker": "customer", "text": m}], turns) for m in messages]
    rows = model.select(contexts, 1)
    return np.array([row[0]["score"] if row else 0.0 for row in rows], dtype=np.float64)


def calibrate(model, quantile: float, questions: list[str] | None = None) -> dict:
    """`{"learnt_min_score", "quantile", "kb_questions"}` for a loaded `ResponseModel`."""
    if not 0.5 <= quantile <= 1.0:
        raise ValueError(f"response_learnt_quantile must be between 0.5 and 1.0, got {quantile}; "
                         "0.95 lets one KB question in 20 be answered by a learnt reply")
    questions = kb_questions() if questions is None else questions
    if not questions:
        raise ValueError(f"no KB questions to calibrate the learnt-reply threshold with in {KB_QUESTIONS}")
    scores = top_scores(model, questions)
    return {"learnt_min_score": round(float(np.quantile(scores, quantile)), 4), "quantile": quantile,
            "kb_questions": len(questions)}


def calibrate_routing(model_dir: Path, model, quantile: float) -> dict:
    """Calibrate a freshly trained model and record `routing` in its manifest; returns the manifest."""
    from finetune.response_model import read_manifest, write_manifest

    manifest = {**read_manifest(model_dir), "routing": calibrate(model, quantile)}
    write_manifest(model_dir, manifest)
    model.manifest = manifest
    return manifest


def learnt_min_score(manifest: dict) -> float | None:
    """The model's threshold, or None for a model trained before calibration existed (never learnt-first)."""
    value = (manifest.get("routing") or {}).get("learnt_min_score")
    return float(value) if value is not None else None
