"""The first model's shallower start: the real base encoder cut to its first layers, written once, with its
own weights (not re-initialised), and left alone when no cut is asked for."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.settings import default_encoder_path
from finetune.layers import MANIFEST, kept_layers, shallow_encoder
from retrieval.encoder import Encoder

TEXTS = ["my card has not arrived", "How do I top up my account by bank transfer?", "thanks"]


def test_a_copy_keeps_the_first_layers_and_their_weights(tmp_path):
    import torch
    from sentence_transformers import SentenceTransformer

    source = default_encoder_path()
    path = shallow_encoder(source, 2, tmp_path)
    manifest = json.loads((Path(path) / MANIFEST).read_text())
    assert manifest["layers"] == 2 and manifest["source_layers"] == 6
    assert manifest["source_fingerprint"] == Encoder(source).fingerprint and kept_layers(path) == 2

    full, cut = SentenceTransformer(source, device="cpu"), SentenceTransformer(path, device="cpu")
    assert len(cut[0].auto_model.encoder.layer) == 2 and cut[0].auto_model.config.num_hidden_layers == 2
    for i in range(2):  # the source's own weights, layer by layer
        for mine, theirs in zip(cut[0].auto_model.encoder.layer[i].parameters(),
                                full[0].auto_model.encoder.layer[i].parameters(), strict=True):
            assert torch.equal(mine, theirs)
    assert torch.equal(cut[0].auto_model.embeddings.word_embeddings.weight,
                       full[0].auto_model.embeddings.word_embeddings.weight)

    vectors = cut.encode(TEXTS, normalize_embeddings=True)  # a working sentence encoder, another space
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert float((vectors * full.encode(TEXTS, normalize_embeddings=True)).sum(axis=1).min()) < 0.999
    # and already one that means something before any training: a paraphrase is nearer than another topic
    near, far = cut.encode(["my new card still hasn't come", "thank you very much"], normalize_embeddings=True)
    assert float(vectors[0] @ near) > float(vectors[0] @ far) + 0.1


def test_written_once_and_rewritten_when_damaged(tmp_path):
    source = default_encoder_path()
    path = shallow_encoder(source, 3, tmp_path)
    weights = next(p for p in Path(path).iterdir() if p.suffix == ".safetensors")
    written = weights.stat().st_mtime_ns
    assert shallow_encoder(source, 3, tmp_path) == path and weights.stat().st_mtime_ns == written

    (Path(path) / MANIFEST).write_text("{broken")
    assert shallow_encoder(source, 3, tmp_path) == path and kept_layers(path) == 3
    assert [p.name for p in tmp_path.iterdir()] == [Path(path).name]  # no temporary directory left


def test_no_cut_returns_the_source_and_a_negative_depth_is_refused(tmp_path):
    source = default_encoder_path()
    assert shallow_encoder(source, 0, tmp_path) == str(source)
    assert shallow_encoder(source, 6, tmp_path) == str(source)  # as deep as it is: nothing to cut
    assert shallow_encoder(source, 12, tmp_path) == str(source)
    assert list(tmp_path.iterdir()) == [] and kept_layers(source) is None
    with pytest.raises(ValueError, match="SUPPORTBOT_FIRST_MODEL_LAYERS|first_model_layers"):
        shallow_encoder(source, -1, tmp_path)


def test_an_encoder_without_a_layer_list_trains_whole(tmp_path, caplog):
    # a tiny DistilBERT sentence encoder built from a config: its layers live elsewhere, so nothing is cut
    from sentence_transformers import SentenceTransformer, models
    from transformers import AutoTokenizer, DistilBertConfig, DistilBertModel

    source = tmp_path / "distil"
    config = DistilBertConfig(vocab_size=30522, dim=32, n_layers=2, n_heads=2, hidden_dim=64)
    DistilBertModel(config).save_pretrained(source)
    AutoTokenizer.from_pretrained(default_encoder_path()).save_pretrained(source)
    word = models.Transformer(str(source))
    SentenceTransformer(modules=[word, models.Pooling(word.get_word_embedding_dimension())]).save(str(source))

    with caplog.at_level("WARNING", logger="finetune.layers"):
        assert shallow_encoder(source, 1, tmp_path / "out") == str(source)
    assert "whole encoder" in caplog.text and "SUPPORTBOT_FIRST_MODEL_LAYERS" in caplog.text
    assert not (tmp_path / "out").exists()
