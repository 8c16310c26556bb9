"""The encoder-tuning study's fine-tune changes the encoder on the bot's intents; its closed-set score ignores oos."""

from __future__ import annotations

import numpy as np
import pytest

from nlu.tuning_study import closed_set, embedder, tune


@pytest.mark.slow
def test_two_steps_of_tuning_move_the_embeddings_and_separate_the_intents():
    from sentence_transformers import SentenceTransformer

    from core.settings import default_encoder_path

    texts = ["my card has not arrived", "where is my new card", "the card still isn't here", "card delivery status",
             "my top up failed", "top-up did not go through", "why was my top up declined", "adding money failed"]
    labels = ["card_arrival"] * 4 + ["top_up_failed"] * 4
    frozen = embedder(SentenceTransformer(default_encoder_path(), device="cpu"))(texts)
    tuned_model, seconds = tune(texts, labels, epochs=1.0, lr=1e-4, batch=4, max_tokens=16, seed=0)
    tuned = embedder(tuned_model)(texts)
    assert tuned.shape == frozen.shape and seconds > 0
    assert np.allclose(np.linalg.norm(tuned, axis=1), 1.0, atol=1e-4)
    assert float(np.min(np.sum(tuned * frozen, axis=1))) < 0.99999  # the weights moved

    def margin(e):  # mean same-intent similarity minus mean cross-intent similarity
        sims = e @ e.T
        same = np.equal.outer(labels, labels) & ~np.eye(len(labels), dtype=bool)
        return sims[same].mean() - sims[~np.equal.outer(labels, labels)].mean()
    assert margin(tuned) > margin(frozen)


def test_closed_set_takes_the_best_real_intent_and_skips_out_of_scope_rows():
    probs = np.array([[0.2, 0.1, 0.7], [0.1, 0.3, 0.6], [0.6, 0.4, 0.0], [0.1, 0.2, 0.7]])
    # row 0: a (oos ignored) right; row 1: b right; row 2: a but gold b, wrong; row 3: gold oos, not counted
    assert closed_set(probs, ["a", "b", "oos"], ("oos",), ["a", "b", "b", "oos"]) == round(2 / 3, 4)
