"""Per-language weights in the intent model: one model, each language's rows weighted its own way; no weights
(or a language without any) gives exactly the one-language model."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from rasa_plugins.cjk import script_language
from rasa_plugins.intent_model import IntentModel
from rasa_plugins.language_weights import LanguageWeights

INTENTS = ["card_arrival", "exchange_rate", "top_up_failed", "greet"]


def rows(seed: int, english: int, chinese: int):
    """An 'English' encoder block that knows the intent for English rows only (noise for Chinese rows, as
    MiniLM is for Chinese), a 'multilingual' block that knows it for both, and sparse counts."""
    rng = np.random.default_rng(seed)
    minilm, e5, counts, labels, langs = [], [], [], [], []
    for k, intent in enumerate(INTENTS):
        for lang, n in (("other", english), ("zh", chinese)):
            for _ in range(n):
                a = np.eye(16)[k] + rng.normal(0, 0.3, 16) if lang == "other" else rng.normal(0, 1.0, 16)
                b = np.eye(16)[4 + k] + rng.normal(0, 0.6, 16)
                c = np.zeros(30)
                c[rng.integers(0, 30, 3)] += 1
                minilm.append(a / np.linalg.norm(a))
                e5.append(b / np.linalg.norm(b))
                counts.append(c)
                labels.append(intent)
                langs.append(lang)
    blocks = {"minilm": np.array(minilm, np.float32), "e5": np.array(e5, np.float32),
              "char_ngrams": sp.csr_matrix(np.array(counts))}
    return blocks, labels, langs


def accuracy(model: IntentModel, blocks, labels, langs) -> float:
    probs, _ = model.predict(blocks, langs)
    return float(np.mean([model.classes[i] == y for i, y in zip(probs.argmax(axis=1), labels)]))


def test_weighting_a_languages_blocks_helps_that_language_and_leaves_the_other_alone():
    train, test = rows(0, english=30, chinese=5), rows(1, english=20, chinese=20)
    plain = IntentModel(folds=3, pseudo_oos_groups=2).fit(*train[:2], languages=train[2])
    weighted = IntentModel(folds=3, pseudo_oos_groups=2, language_weights={"zh": {"minilm": 0.0, "e5": 2.0}},
                           language_sample_weight={"zh": 3.0}).fit(*train[:2], languages=train[2])
    zh = [i for i, lang in enumerate(test[2]) if lang == "zh"]
    en = [i for i, lang in enumerate(test[2]) if lang == "other"]

    def part(index):
        blocks, labels, langs = test
        return ({n: m[index] for n, m in blocks.items()}, [labels[i] for i in index], [langs[i] for i in index])
    assert accuracy(weighted, *part(zh)) >= accuracy(plain, *part(zh)) + 0.1
    assert accuracy(plain, *part(en)) >= 0.9 and abs(accuracy(weighted, *part(en)) - accuracy(plain, *part(en))) <= 0.05
    # the detector's embeddings are weighted the same way: a Chinese row's similarity ignores the minilm block
    _, score = weighted.predict(*part(zh)[:1], part(zh)[2])
    assert np.all((score >= 0) & (score <= 1))


def test_without_weights_the_model_is_the_one_language_model(tmp_path):
    blocks, labels, langs = rows(2, english=20, chinese=5)
    before = IntentModel(folds=3, pseudo_oos_groups=2).fit(blocks, labels)
    after = IntentModel(folds=3, pseudo_oos_groups=2, language_weights={"de": {"minilm": 0.0}}).fit(
        blocks, labels, languages=langs)
    np.testing.assert_array_equal(before.coef, after.coef)
    assert before.threshold == after.threshold
    weighted = IntentModel(folds=3, pseudo_oos_groups=2, language_weights={"zh": {"minilm": 0.0}}).fit(
        blocks, labels, languages=langs)
    X = weighted._features(blocks, langs)
    zh = np.array([lang == "zh" for lang in langs])
    minilm_cols = slice(weighted.scaler.dims["char_ngrams"] + weighted.scaler.dims["e5"], None)  # sorted names
    assert X[zh][:, minilm_cols].nnz == 0 and X[~zh][:, minilm_cols].nnz > 0
    weighted.save(tmp_path)
    loaded = IntentModel.load(tmp_path)
    assert loaded.languages.blocks == {"zh": {"minilm": 0.0}}
    np.testing.assert_allclose(loaded.predict(blocks, langs)[0], weighted.predict(blocks, langs)[0], rtol=1e-4,
                               atol=1e-3)  # float16 knn embeddings on disk


def test_script_language_and_bad_weights():
    assert [script_language(t) for t in ("PIN码被锁了", "怎么绑定Apple Pay", "my card 丢了 help", "top up")] == [
        "zh", "zh", "other", "other"]
    with pytest.raises(ValueError, match="0 or more"):
        LanguageWeights({"zh": {"minilm": -1.0}})
    with pytest.raises(ValueError, match="positive"):
        LanguageWeights(sample={"zh": 0.0})
