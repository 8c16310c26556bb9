"""Offline study: the per-language decision of the bilingual intent model, chosen by cross-validation on the
TRAINING examples only (not the product path; neither held-out set is read).

Folds: fold k holds out the k-th Chinese example of every intent in data/nlu/zh.yml (5 per intent, so 5
folds) and a fifth of the English training split (Banking77's 80 %, every 5th row from k); the model is
trained on the rest. The features replicate config.bilingual.yml on cached embeddings (Python 3.11): MiniLM
and multilingual-e5 sentence embeddings, char 2-5-grams and word 1-2-grams over the bilingual tokenizer's
words, `rasa_plugins.intent_model`'s scaler and linear SVM with `rasa_plugins.language_weights` (no
calibration: top-1 only). Prints one JSON object: per variant, zh and en CV top-1 over all folds.

    .venv/bin/python -m nlu.language_cv [--variants NAME ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from nlu.embedding_cache import EmbeddingCache
from nlu.eval_data import read_rows
from nlu.language_study import CACHE, bilingual_words, count_blocks
from rasa_plugins.cjk import script_language
from rasa_plugins.paths import ROOT

# name -> (block weights for Chinese rows, sample weight of Chinese examples)
VARIANTS: dict[str, tuple[dict[str, float], float]] = {
    "one_weighting": ({}, 1.0),
    "zh_no_minilm": ({"minilm": 0.0}, 1.0),
    "zh_no_minilm_e5x1.5": ({"minilm": 0.0, "e5": 1.5}, 1.0),
    "zh_no_minilm_e5x2": ({"minilm": 0.0, "e5": 2.0}, 1.0),
    "zh_no_minilm_e5x3": ({"minilm": 0.0, "e5": 3.0}, 1.0),
    "zh_no_minilm_e5x1.5_zh_examples_x3": ({"minilm": 0.0, "e5": 1.5}, 3.0),
    "zh_no_minilm_e5x1.5_zh_examples_x10": ({"minilm": 0.0, "e5": 1.5}, 10.0),
    "zh_no_minilm_e5x1.5_ngrams_x0.5": ({"minilm": 0.0, "e5": 1.5, "char_ngrams": 0.5, "word_ngrams": 0.5}, 1.0),
}


def folds(en: list, zh: list, k: int = 5) -> list[tuple[list[int], list[int]]]:
    """(train, held-out) row indices into en + zh for each fold."""
    rank: dict[str, int] = {}
    zh_fold = []
    for _, intent in zh:
        zh_fold.append(rank.get(intent, 0) % k)
        rank[intent] = rank.get(intent, 0) + 1
    fold_of = [i % k for i in range(len(en))] + zh_fold
    return [([i for i, f in enumerate(fold_of) if f != j], [i for i, f in enumerate(fold_of) if f == j])
            for j in range(k)]


def run_variant(name: str, rows: list, blocks: dict, splits: list) -> dict:
    from rasa_plugins.intent_model import IntentModel

    zh_weights, zh_sample = VARIANTS[name]
    model = IntentModel(language_weights={"zh": zh_weights} if zh_weights else None,
                        language_sample_weight={"zh": zh_sample} if zh_sample != 1.0 else None)
    classes = model.classes = sorted({i for _, i in rows})
    y = np.array([classes.index(i) for _, i in rows])
    langs = [script_language(t) for t, _ in rows]
    right = np.zeros(len(rows), bool)
    for train, held in splits:
        part = blocks(train)
        model.scaler.fit(part)
        X = model._features(part, [langs[i] for i in train])
        model.row_class = np.arange(len(classes), dtype=np.int32)
        coef, intercept = model._fit_svm(X, y[train], model.languages.sample_weights([langs[i] for i in train]))
        test = blocks(train, held)
        margins = model._features(test, [langs[i] for i in held]) @ coef.T + intercept
        right[held] = np.asarray(margins).argmax(axis=1) == y[held]
        print(f"{name}: fold done", file=sys.stderr, flush=True)
    zh = np.array([lang == "zh" for lang in langs])
    result = {"zh": round(float(right[zh].mean()), 4), "en": round(float(right[~zh].mean()), 4)}
    print(f"{name}: {json.dumps(result)}", file=sys.stderr, flush=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--en-train", type=Path, default=ROOT / "var" / "eval" / "banking77" / "train.csv")
    parser.add_argument("--zh-train", type=Path, default=ROOT / "data" / "nlu" / "zh.yml")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS), choices=list(VARIANTS))
    args = parser.parse_args(argv)
    from rasa_plugins.e5_encoder import E5Encoder
    from rasa_plugins.onnx_encoder import OnnxEncoder

    en, zh = read_rows(args.en_train), read_rows(args.zh_train)
    rows = en + zh
    texts = [t for t, _ in rows]
    dense = {"minilm": EmbeddingCache(CACHE / "minilm.npz", OnnxEncoder(None, threads=1))(texts),
             "e5": EmbeddingCache(CACHE / "e5.npz", E5Encoder(threads=1))(texts)}
    splits = folds(en, zh)
    counted: dict[tuple, object] = {}

    def blocks(train: list[int], held: list[int] | None = None) -> dict:
        key = (train[0], len(train))
        if key not in counted:  # the count vocabularies are learnt on the fold's training rows only
            counted[key] = count_blocks([texts[i] for i in train], bilingual_words)
        index = train if held is None else held
        return {**{b: m[index] for b, m in dense.items()}, **counted[key]([texts[i] for i in index])}

    started = time.perf_counter()
    results = {name: run_variant(name, rows, blocks, splits) for name in args.variants}
    print(json.dumps({"cv_top1": results, "folds": len(splits), "sizes": {"en": len(en), "zh": len(zh)},
                      "seconds": round(time.perf_counter() - started, 1)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
