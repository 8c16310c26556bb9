"""A real (tiny) dual-encoder training run: two steps change the embeddings, and the model directory
carries everything the registry and the selector need."""

from __future__ import annotations

import json

import numpy as np
import pytest

from core.settings import default_encoder_path
from finetune.batching import no_duplicate_batches
from finetune.dual_encoder import TrainConfig
from finetune.pairs import format_context, make_pairs
from finetune.response_model import ResponseModel
from finetune.training import train_response_model
from retrieval.encoder import Encoder

CONVERSATIONS = [
    {"conversation_id": f"c{i}", "turns": [
        {"speaker": "customer", "text": q},
        {"speaker": "agent", "text": a},
        {"speaker": "customer", "text": "thanks"},
        {"speaker": "agent", "text": "Is there anything else that I can do for you?"},
    ]}
    for i, (q, a) in enumerate([
        ("my card has not arrived", "Cards arrive within 5 working days of the order."),
        ("I lost my card", "I have frozen your card [CARD]; a new one is on its way."),
        ("how do I change my PIN?", "You can change your PIN at any of our cash machines."),
        ("what is my balance?", "Your current balance is shown on the home screen of the app."),
        ("can I get a refund?", "Refunds reach your account within 3 to 5 days."),
        ("the app will not open", "Please update the app to the newest version and try again."),
        ("I want to close my account", "I am sorry to see you go. I can close it for you now."),
        ("my transfer failed", "Failed transfers are returned to your account within a day."),
    ])
]


def test_pairs_use_the_last_turns_newest_first():
    pairs = make_pairs(CONVERSATIONS, context_turns=2)
    assert len(pairs) == 16
    assert pairs[1]["context"] == "customer: thanks || agent: " + CONVERSATIONS[0]["turns"][1]["text"]
    assert format_context([{"speaker": "customer", "text": "  "}]) == ""


def test_batches_never_repeat_a_reply():
    examples = [{"reply": r, "negatives": []} for r in ["a", "a", "a", "b", "c", "d", "e", "f"]]
    batches, dropped = no_duplicate_batches(examples, batch_size=4, seed=1)
    for batch in batches:
        replies = [examples[i]["reply"] for i in batch]
        assert len(set(replies)) == len(replies)
    assert sum(map(len, batches)) + dropped == len(examples)


@pytest.mark.slow
def test_two_training_steps_change_the_embeddings_and_write_a_complete_model_dir(tmp_path):
    probe = ["customer: I lost my card", "I have frozen your card [CARD]; a new one is on its way."]
    before = Encoder(default_encoder_path()).load().encode(probe)
    config = TrainConfig(base_model=default_encoder_path(), max_steps=2, batch_size=4, learning_rate=1e-4,
                         hard_negatives=1, hard_negative_top_k=3, max_seq_length=64, device="cpu")
    model_dir, manifest = train_response_model(CONVERSATIONS, tmp_path / "models", config, context_turns=3,
                                               validation_conversations=None, source="test", progress=False)

    model = ResponseModel(model_dir).load()
    after = model.encode(probe)
    assert np.abs(after - before).max() > 1e-4  # the weights moved
    assert np.allclose(np.linalg.norm(after, axis=1), 1.0, atol=1e-5)

    on_disk = json.loads((model_dir / "manifest.json").read_text())
    assert on_disk == manifest
    assert manifest["training"]["steps"] == 2 and len(manifest["training"]["validation"]) == 0
    assert manifest["data"]["pairs"] == 16 and len(manifest["data"]["fingerprint"]) == 32
    assert manifest["training"]["config"]["max_steps"] == 2 and manifest["training"]["config"]["hard_negatives"] == 1
    assert manifest["bank"]["responses"] == 9  # 8 distinct answers + the shared closing question
    for name in ("loss.png", "eval.png", "responses.jsonl", "encoder/config.json", "bank/index.faiss"):
        assert (model_dir / name).is_file(), name
    assert (model_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"
    losses = json.loads((model_dir / "training_log.json").read_text())["losses"]
    assert len(losses) == 2 and all(np.isfinite(losses))

    [top] = model.select(["customer: I lost my card"], k=1)
    assert top[0]["text"] in {c["turns"][1]["text"] for c in CONVERSATIONS}
