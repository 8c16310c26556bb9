"""The ONNX export of the sentence encoder: same vectors as torch, idempotent, clear failures."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from core.settings import default_encoder_path
from nlu.export import ExportError, export_onnx, up_to_date
from rasa_plugins.onnx_encoder import EncoderNotExported, OnnxEncoder

# Not the sentences the exporter verifies itself on: short, long (truncated at 256 word pieces),
# punctuation, digits, non-ASCII, an empty string, mixed lengths in one batch (padding).
TEXTS = [
    "where is my new card?",
    "Can I top up with Apple Pay, and how long does it take before the money shows?",
    "my card ends in 4821",
    "Überweisung nach Deutschland – geht das?",
    "",
    "ok",
    " ".join(["I was charged twice for the same coffee and the refund never arrived"] * 40),
]


@pytest.fixture(scope="module")
def torch_vectors():
    from retrieval.encoder import Encoder

    return Encoder(default_encoder_path()).load().encode(TEXTS)


def test_onnx_embeddings_match_the_torch_sentence_transformer(onnx_dir, torch_vectors):
    for batch_size in (1, 3, 64):  # padding differs with the batch: the pooled vectors must not
        onnx = OnnxEncoder(onnx_dir, batch_size=batch_size).load().encode(TEXTS)
        assert onnx.shape == torch_vectors.shape and onnx.dtype == np.float32
        cosine = (onnx * torch_vectors).sum(1) / (np.linalg.norm(onnx, axis=1) * np.linalg.norm(torch_vectors, axis=1))
        assert cosine.min() >= 0.999, cosine
        np.testing.assert_allclose(np.linalg.norm(onnx, axis=1), 1.0, atol=1e-4)


def test_manifest_names_the_encoder_the_action_server_uses(onnx_dir):
    from retrieval.encoder import Encoder

    manifest = json.loads((onnx_dir / "manifest.json").read_text())
    assert manifest["encoder_fingerprint"] == Encoder(default_encoder_path()).fingerprint
    assert manifest["dim"] == 384 and manifest["verification"]["min_cosine"] >= 0.999
    assert OnnxEncoder(onnx_dir).fingerprint == Encoder(default_encoder_path()).fingerprint


def test_export_is_skipped_when_up_to_date(onnx_dir):
    before = (onnx_dir / "model.onnx").stat().st_mtime_ns
    again = export_onnx(default_encoder_path(), onnx_dir)
    assert again["skipped"] is True
    assert (onnx_dir / "model.onnx").stat().st_mtime_ns == before


def test_a_damaged_export_is_not_taken_for_up_to_date(onnx_dir, tmp_path):
    copy = tmp_path / "encoder-onnx"
    shutil.copytree(onnx_dir, copy)
    fingerprint = json.loads((copy / "manifest.json").read_text())["encoder_fingerprint"]
    assert up_to_date(copy, fingerprint) is not None
    assert up_to_date(copy, "sha256:another-encoder") is None
    with (copy / "model.onnx").open("r+b") as fh:  # a truncated / corrupted weight file
        fh.truncate(1000)
    assert up_to_date(copy, fingerprint) is None
    (copy / "manifest.json").write_text("{not json")
    with pytest.raises(EncoderNotExported, match="export-onnx --force"):
        OnnxEncoder(copy).load()


def test_missing_export_says_how_to_make_it(tmp_path):
    with pytest.raises(EncoderNotExported, match="supportbot nlu export-onnx"):
        OnnxEncoder(tmp_path / "nothing-here").load()


def test_unloadable_model_is_a_clear_error_and_leaves_nothing_behind(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(ExportError, match="SUPPORTBOT_ENCODER_MODEL"):
        export_onnx(str(tmp_path / "not-a-model"), out)
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_int8_copy_is_smaller_and_close_to_the_float32_export(onnx_dir, tmp_path):
    from bench.quantize_onnx import quantize

    out = quantize(onnx_dir, tmp_path / "int8")
    assert out["bytes_int8"] < out["bytes_float32"] / 3
    texts = [t for t in TEXTS if t]
    full = OnnxEncoder(onnx_dir).load().encode(texts)
    small = OnnxEncoder(tmp_path / "int8").load().encode(texts)
    cosine = (full * small).sum(1) / (np.linalg.norm(full, axis=1) * np.linalg.norm(small, axis=1))
    # near (0.87-0.98 here), yet not the float32 graph under another name; the recall it costs: docs/benchmarks.md
    assert cosine.min() > 0.8 and cosine.max() < 0.99999, cosine
