"""The promotion gate refuses a dialogue model whose response bank still holds personal data, and says
which replies, without repeating the data; the training data itself goes through the PII engine."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.paths import datasets_dir
from core.settings import Settings
from finetune.gate import PromotionGate, bank_leaks
from finetune.pipeline import retrain
from finetune.preprocess import preprocess
from finetune.registry import Registry

PLANTED = "Thank you Rhiannon Okafor, your new card goes to 221B Baker Street, London NW1 6XE."


def test_bank_leaks_name_the_replies_and_the_gate_refuses(tmp_path):
    bank = [{"id": 0, "text": "Your card is blocked.", "count": 4},
            {"id": 1, "text": PLANTED, "count": 1},
            {"id": 2, "text": "Thank you [NAME], it goes to [ADDRESS].", "count": 2}]
    (tmp_path / "responses.jsonl").write_text("".join(json.dumps(b) + "\n" for b in bank))
    leaks = bank_leaks(tmp_path)
    assert [(x["id"], x["kinds"]) for x in leaks] == [(1, ["ADDRESS", "NAME"])]
    decision = PromotionGate().decide({"recall@1": 0.9, "mrr": 0.9}, {"recall@1": 0.1, "mrr": 0.1}, "the base", leaks)
    assert not decision.promote
    assert "#1 (ADDRESS, NAME)" in decision.reason and "Okafor" not in decision.reason and "Baker" not in decision.reason


def test_training_data_goes_through_the_engine():
    conv = {"conversation_id": "c1", "turns": [
        {"speaker": "customer", "text": "Hi, I'm Rhiannon Okafor, my IP is 192.168.10.23"},
        {"speaker": "agent", "text": "Thanks Rhiannon, what is your date of birth?"},
        {"speaker": "customer", "text": "14 March 1987"},
        {"speaker": "agent", "text": "Thank you, the £1,250 refund from 2023 is on its way."}]}
    [out], report = preprocess([conv])
    texts = [t["text"] for t in out["turns"]]
    assert "[NAME]" in texts[0] and texts[0].endswith("my IP is [IP]") and texts[1].startswith("Thanks [NAME],")
    assert not any("Rhiannon" in t or "Okafor" in t or "192.168" in t for t in texts)
    assert "1987" not in texts[2] and texts[3] == conv["turns"][3]["text"]
    assert report["anonymisation"]["[NAME]"] == 2 and report["anonymisation"]["[IP]"] == 1


@pytest.mark.slow
def test_retrain_refuses_a_model_whose_bank_holds_a_planted_name_and_address(tmp_path):
    logs = tmp_path / "star-small.jsonl"
    with (datasets_dir() / "star" / "conversations.jsonl").open() as src, logs.open("w") as dst:
        for _, line in zip(range(120), src):
            dst.write(line)
    settings = Settings(var_dir=tmp_path / "var", database_url=f"sqlite:///{tmp_path / 'reg.db'}",
                        finetune_holdout_fraction=0.3, finetune_eval_cases=100, finetune_max_steps=10,
                        finetune_batch_size=16, finetune_learning_rate=2e-4, finetune_hard_negatives=0,
                        faiss_device="cpu", finetune_device="cpu", promotion_margin=-1.0)  # quality always passes
    registry = Registry.open(settings.database_url)

    def plant(pairs: list[dict]) -> list[dict]:
        return pairs[:5] + [{**pairs[5], "reply": PLANTED}] + pairs[6:]

    result = retrain(settings, registry, files=[logs], use_store=False, progress=False, pairs_transform=plant,
                     log=lambda _m: None)
    assert not result["promoted"]
    assert "personal data in 1 reply" in result["reason"] and "(ADDRESS, NAME)" in result["reason"]
    assert "Okafor" not in result["reason"]
    [leak] = result["bank_personal_data"]
    bank = {r["id"]: r["text"] for r in map(json.loads, (Path(result["model_dir"]) / "responses.jsonl").open())}
    assert bank[leak["id"]] == PLANTED
    row = registry.get("responses", result["version"])
    assert row["status"] == "rejected" and row["note"] == result["reason"]
    assert registry.serving("responses") is None
    registry.close()
