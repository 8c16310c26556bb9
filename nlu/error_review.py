"""Offline study: what the shipped classifier gets wrong on the large set's dev split, and who is right (not the product path).

Trains the shipped classifier as `nlu.oos_study` does (frozen ONNX MiniLM + the n-gram blocks, the knn
detector, share 0.5, cap 0.15) on the training part of `nlu.oos_study.large_dev`, predicts its dev split (the
large set's test split is never read here), and reports the in-scope errors: the most frequent
(gold → predicted) pairs, and a seeded random sample of `--sample` errors. Each sampled error is joined by
text with the hand review in data/eval/large_dev_error_review.jsonl, one judgement per message:

* `model_error`: the gold intent is right and the prediction is not;
* `ambiguous`: the message fits both intents (a person could not choose without asking);
* `gold_doubtful`: the predicted intent fits the message better than the gold one, or the gold one does not
  fit at all (Banking77's label noise).

The review was made by reading each message beside the two intents' names and a few of their training
examples, before any tuning on these errors. Prints one JSON object (`judged` counts the sample's
judgements; `unjudged` lists sampled errors the file has no judgement for, e.g. after the pipeline changed).

    .venv/bin/python -m nlu.error_review [--sample 40]
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

import numpy as np

from nlu.embedding_cache import EmbeddingCache
from nlu.oos_study import CACHE, blocks_for, fit_shipped, large_dev
from rasa_plugins.paths import ROOT

REVIEW = ROOT / "data" / "eval" / "large_dev_error_review.jsonl"
JUDGEMENTS = ("model_error", "ambiguous", "gold_doubtful")


def read_review(path: Path = REVIEW) -> dict[str, dict]:
    """text -> its review row; every row must carry one of JUDGEMENTS."""
    reviewed = {}
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        row = json.loads(line)
        if row.get("judgement") not in JUDGEMENTS:
            raise ValueError(f"{path}:{n}: judgement {row.get('judgement')!r} is not one of {JUDGEMENTS}")
        reviewed[row["text"]] = row
    return reviewed


def errors(sample: int, seed: int = 0) -> dict:
    from rasa_plugins.onnx_encoder import OnnxEncoder

    embed = EmbeddingCache(CACHE / "embeddings.npz", OnnxEncoder(ROOT / "var" / "models" / "encoder-onnx"))
    train, dev = large_dev()
    make = blocks_for([t for t, _ in train], embed)
    model = fit_shipped(make([t for t, _ in train]), [i for _, i in train])
    probs, _ = model.predict(make([t for t, _ in dev]))
    predicted = np.array(model.classes)[probs.argmax(axis=1)]
    wrong = [(text, gold, str(pred)) for (text, gold), pred in zip(dev, predicted) if gold != "oos" and gold != pred]
    in_scope = sum(gold != "oos" for _, gold in dev)
    pairs = Counter((gold, pred) for _, gold, pred in wrong)
    picked = list(wrong)
    random.Random(seed).shuffle(picked)
    picked = picked[:sample]
    return {"in_scope": in_scope, "errors": len(wrong), "top1_in_scope": round(1 - len(wrong) / in_scope, 4),
            "predicted_oos": sum(pred == "oos" for _, _, pred in wrong),
            "top_pairs": [{"gold": g, "predicted": p, "n": n} for (g, p), n in pairs.most_common(15)],
            "sample": [{"text": t, "gold": g, "predicted": p} for t, g, p in picked]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sample", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = errors(args.sample, args.seed)
    reviewed = read_review()
    judged = Counter(reviewed[s["text"]]["judgement"] for s in out["sample"] if s["text"] in reviewed)
    out["judged"] = {j: judged.get(j, 0) for j in JUDGEMENTS}
    out["unjudged"] = [s for s in out["sample"] if s["text"] not in reviewed]
    share = judged.get("model_error", 0) / max(1, sum(judged.values()))
    out["model_error_share"] = round(share, 3)
    # if only the clear model errors were counted as errors, the in-scope accuracy would be this
    out["top1_in_scope_clear_errors_only"] = round(1 - share * out["errors"] / out["in_scope"], 4)
    out.pop("sample")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
