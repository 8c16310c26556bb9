"""The generative option on a tiny GPT-2 built from a config: LoRA training, then generation from the
saved adapter reproduces the replies it learnt, and scoring ranks the true reply first."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from finetune.generative import Generator, GeneratorConfig, build_prompt, train_generator
from tests.finetune.tiny_lm import build_tiny_lm

PAIRS = [
    {"context": "customer: my card has not arrived", "reply": "Sorry to hear that. When did you order it?"},
    {"context": "customer: hello", "reply": "Hello, how can I help?"},
    {"context": "customer: I lost my card", "reply": "I have frozen your card [CARD]."},
]
PASSAGES = [["Cards arrive within 5 working days."], [], ["Lost cards are frozen at once."]]


@pytest.mark.slow
def test_tiny_generator_train_then_generate_round_trip(tmp_path):
    texts = [build_prompt(p["context"], ps) + " " + p["reply"] for p, ps in zip(PAIRS, PASSAGES)]
    base = build_tiny_lm(tmp_path / "base", texts * 3)
    base_weights = load_file(str(base / "model.safetensors"))
    config = GeneratorConfig(base_model=str(base), lora_rank=16, lora_alpha=64, lora_dropout=0.0,
                             target_modules=["c_attn", "c_proj", "c_fc"], max_steps=50, batch_size=3,
                             learning_rate=1e-2, device="cpu")
    model_dir, manifest = train_generator(PAIRS, tmp_path / "models", config, "fp123", passages=PASSAGES,
                                          progress=False)

    assert manifest["kind"] == "generator" and manifest["data"] == {"fingerprint": "fp123", "pairs": 3,
                                                                    "grounded": True}
    assert manifest["training"]["final_loss"] < manifest["training"]["first_loss"]
    assert json.loads((model_dir / "manifest.json").read_text()) == manifest
    assert (model_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"
    adapter = model_dir / "adapter" / "adapter_model.safetensors"
    assert adapter.stat().st_size < (base / "model.safetensors").stat().st_size  # only the adapter is saved
    after = load_file(str(base / "model.safetensors"))
    assert all(torch.equal(base_weights[k], after[k]) for k in base_weights)  # base model untouched

    generator = Generator(model_dir, device="cpu").load()
    for pair, passages in zip(PAIRS, PASSAGES):
        assert generator.generate(pair["context"], passages) == pair["reply"]
    untuned = Generator(model_dir, device="cpu").load(with_adapter=False)
    assert untuned.generate(PAIRS[1]["context"]) != PAIRS[1]["reply"]

    replies = [p["reply"] for p in PAIRS]
    scores = generator.score([p["context"] for p in PAIRS], [replies] * 3, PASSAGES)
    assert [int(np.argmax(s)) for s in scores] == [0, 1, 2]


@pytest.mark.slow
def test_generator_retrain_is_evaluated_gated_and_registered(tmp_path):
    from core.settings import Settings
    from finetune.pipeline import retrain_generator
    from finetune.registry import Registry
    from tests.finetune.test_gate import STAR

    logs = tmp_path / "star.jsonl"
    with (STAR / "conversations.jsonl").open() as src:
        lines = [line for _, line in zip(range(120), src)]
    logs.write_text("".join(lines))
    texts = [t["text"] for line in lines for t in json.loads(line)["turns"]]
    base = build_tiny_lm(tmp_path / "base", texts)
    settings = Settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'reg.db'}",
                        generator_base_model=str(base), finetune_holdout_fraction=0.3, finetune_eval_cases=20,
                        finetune_device="cpu", faiss_device="cpu")
    registry = Registry.open(settings.db_url)
    messages: list[str] = []
    report = retrain_generator(settings, registry, files=[logs], use_store=False, progress=False,
                               log=messages.append, max_steps=4)
    assert report["kind"] == "generator" and report["baseline"]["name"] == "the base language model without adapter"
    assert report["candidate"]["cases"] == 20 and 0.0 <= report["candidate"]["recall@1"] <= 1.0
    [row] = registry.list("generator")
    assert row["status"] == ("serving" if report["promoted"] else "rejected") and row["note"] == report["reason"]
    assert any("without KB passages" in m for m in messages)  # no KB index here: trained ungrounded, and said so
    manifest = json.loads((tmp_path / "var" / "models" / "generator" / row["version"] / "manifest.json").read_text())
    assert manifest["metrics"]["heldout"] == report["candidate"] and manifest["training"]["steps"] == 4
    registry.close()
