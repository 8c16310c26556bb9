"""The response model's encoder in ONNX: exported at build, the same vectors and replies as torch,
older model directories still served with torch, and a damaged export refused loudly.

Real parts: the shipped MiniLM sentence-transformer (fine-tuned for two steps in the slow test),
the real exporter (nlu.export), onnxruntime, a real FAISS bank.
"""

from __future__ import annotations

import json
import logging
import shutil

import numpy as np
import pytest

from core.settings import default_encoder_path
from finetune.pairs import format_context, response_bank
from finetune.response_model import ResponseModel, build_base_model
from finetune.serving import select_with

BANK = ["Hello, how can I help?", "Your card will arrive within 5 working days.",
        "I have frozen your card [CARD] for you.", "Your balance is shown in the app under Accounts.",
        "Refunds reach your account within 3 to 5 days.", "Thank you and goodbye."]
# contexts as the action server formats them (not the texts the exporter verifies itself on)
CONTEXTS = [format_context([{"speaker": "customer", "text": t}], 3) for t in (
    "hi there", "when does my new card come?", "someone stole my card, block it please", "how much money do I have",
    "I was charged twice, can I get my money back?", "thanks, that's all")] + [
    format_context([{"speaker": "customer", "text": "I lost my card"},
                    {"speaker": "agent", "text": "I have frozen your card [CARD] for you."},
                    {"speaker": "customer", "text": "great, bye"}], 3)]


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def base_model(root, **kwargs):
    return build_base_model(root, default_encoder_path(), response_bank([{"reply": r} for r in BANK]),
                            {"kind": "responses", "version": root.name, "context_turns": 3}, faiss_device="cpu",
                            **kwargs)


def assert_same_answers(onnx: ResponseModel, torch: ResponseModel) -> None:
    assert onnx.runtime == "onnx" and torch.runtime == "torch"
    assert cosines(onnx.encode(CONTEXTS), torch.encode(CONTEXTS)).min() >= 0.999
    for context in CONTEXTS:
        a, b = onnx.select([context], k=3)[0], torch.select([context], k=3)[0]
        assert a[0]["text"] == b[0]["text"], context
        assert abs(a[0]["score"] - b[0]["score"]) < 0.005


def test_a_base_model_reuses_the_platform_export_and_answers_as_torch_does(tmp_path, onnx_dir):
    model_dir = base_model(tmp_path / "base", reuse_onnx=onnx_dir)
    entry = json.loads((model_dir / "manifest.json").read_text())["encoder_onnx"]
    assert entry["reused"] is True and entry["dir"] == str(onnx_dir.resolve())
    assert not (model_dir / "encoder-onnx").exists()  # referred to, not copied
    onnx = ResponseModel(model_dir).load()
    assert onnx.runtime_reason is None and type(onnx.encoder).__name__ == "OnnxQueryEncoder"
    assert_same_answers(onnx, ResponseModel(model_dir, encoder_runtime="torch").load())
    served = select_with(onnx, [{"speaker": "user", "text": "When will my new card arrive?"}], k=2)
    assert served["reply"] == "Your card will arrive within 5 working days."


def test_a_model_directory_without_an_export_still_answers_with_torch(tmp_path, caplog):
    model_dir = base_model(tmp_path / "old", onnx=False)  # what every model built before exports looks like
    assert "encoder_onnx" not in json.loads((model_dir / "manifest.json").read_text())
    with caplog.at_level(logging.INFO, logger="finetune.response_encoder"):
        model = ResponseModel(model_dir).load()
    assert model.runtime == "torch" and "no ONNX export" in model.runtime_reason
    assert "encodes with the sentence-transformer" in caplog.text
    assert select_with(model, [{"speaker": "customer", "text": "hello"}])["reply"] == "Hello, how can I help?"


@pytest.mark.parametrize("damage", ["graph", "fingerprint", "missing"])
def test_a_damaged_export_falls_back_to_torch_loudly(tmp_path, onnx_dir, caplog, damage):
    export = tmp_path / "export"
    shutil.copytree(onnx_dir, export)
    model_dir = base_model(tmp_path / "model", reuse_onnx=export)
    if damage == "graph":  # a graph that is not the verified one (truncated copy, disk error)
        data = (export / "model.onnx").read_bytes()
        (export / "model.onnx").write_bytes(data[: len(data) // 2])
    elif damage == "fingerprint":  # an export of another encoder put in its place
        manifest = json.loads((export / "manifest.json").read_text())
        (export / "manifest.json").write_text(json.dumps({**manifest, "encoder_fingerprint": "sha256:another"}))
    else:
        shutil.rmtree(export)
    with caplog.at_level(logging.WARNING, logger="finetune.response_encoder"):
        model = ResponseModel(model_dir).load()
    assert model.runtime == "torch"
    assert [r for r in caplog.records if r.levelno == logging.WARNING and "rebuild the model" in r.getMessage()]
    assert ("missing" if damage == "missing" else "damaged or not of this model's encoder") in model.runtime_reason
    # the answers are the model's own (torch over the same weights), not a broken graph's
    reference = ResponseModel(base_model(tmp_path / "reference", onnx=False)).load()
    for context in CONTEXTS:
        assert model.select([context], k=1)[0][0]["text"] == reference.select([context], k=1)[0][0]["text"]


@pytest.mark.slow
def test_a_fine_tuned_model_gets_its_own_verified_export_at_build(tmp_path):
    from finetune.dual_encoder import TrainConfig
    from finetune.training import train_response_model
    from tests.finetune.test_training import CONVERSATIONS

    config = TrainConfig(base_model=default_encoder_path(), max_steps=2, batch_size=4, learning_rate=1e-4,
                         hard_negatives=0, max_seq_length=64, device="cpu")
    model_dir, manifest = train_response_model(CONVERSATIONS, tmp_path / "models", config, context_turns=3,
                                               validation_conversations=None, source="test", progress=False)
    entry = manifest["encoder_onnx"]
    assert entry["dir"] == "encoder-onnx" and entry["reused"] is False and entry["min_cosine"] >= 0.999
    assert "encoder-onnx/" in manifest["files"] and "encoder-onnx-int8/" in manifest["files"]
    assert manifest["encoder_onnx_int8"]["dir"] == "encoder-onnx-int8"  # quantised from this model's own export
    assert manifest["encoder_onnx_int8"]["quantized_from"] == entry["onnx_sha256"]
    export = json.loads((model_dir / "encoder-onnx" / "manifest.json").read_text())
    assert export["max_seq_length"] == 64  # the fine-tuned model's window, not the base encoder's
    from retrieval.encoder import Encoder

    assert export["encoder_fingerprint"] == Encoder(str(model_dir / "encoder")).fingerprint == entry["encoder_fingerprint"]
    assert_same_answers(ResponseModel(model_dir).load(), ResponseModel(model_dir, encoder_runtime="torch").load())
