"""What the agent-assist tests share: a real response model (the shipped encoder over a small bank of
replies with placeholders) and a real KB index over three shipped articles, registered where a
service's settings look for them."""

from __future__ import annotations

import shutil
from pathlib import Path

from core.settings import ROOT, Settings, default_encoder_path
from finetune.pairs import response_bank
from finetune.registry import Registry
from finetune.response_model import build_base_model

BANK = ["Thank you, [NAME]. I have blocked your card [CARD] and ordered a new one.",
        "Your balance is shown in the app under Accounts.",
        "Is there anything else I can help you with?",
        "Your new card will arrive within 5 working days."]
ARTICLES = ["lost_or_stolen_card", "card_arrival", "exchange_rate"]


def build_model(root: Path) -> Path:
    return build_base_model(root / "m1", default_encoder_path(), response_bank([{"reply": r} for r in BANK]),
                            {"kind": "responses", "version": "m1", "context_turns": 3}, faiss_device="cpu",
                            onnx=False)  # torch: the ONNX export is tested in tests/finetune


def build_kb(root: Path) -> Path:
    from retrieval.ingest import ingest_paths

    (root / "kb").mkdir(parents=True)
    for name in ARTICLES:
        shutil.copy(ROOT / "data" / "kb" / f"{name}.md", root / "kb" / f"{name}.md")
    settings = Settings(var_dir=root / "var", kb_dir=root / "kb", faiss_device="cpu", reranker_model="")
    ingest_paths([root / "kb"], root / "index", settings=settings)
    return root / "index"


def install(settings: Settings, model_dir: Path, kb_index: Path) -> None:
    """Promote the model in the settings' store and put the KB index where the settings look."""
    reg = Registry.open(settings.db_url)
    try:
        reg.register("responses", "m1", model_dir, {}, "fp")
        reg.promote("responses", "m1")
    finally:
        reg.close()
    shutil.copytree(kb_index, settings.index_dir)
