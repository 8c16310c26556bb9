"""One training run, end to end: pairs → fine-tuned encoder → response bank → charts → manifest.

Everything a later reader needs to trust the model is written beside it: the settings used, the
fingerprint of the data it learnt from, how long it took on which device, and its metrics.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from finetune.charts import eval_chart, loss_curve
from finetune.dual_encoder import DualEncoderTrainer, TrainConfig
from finetune.evaluation import RankingEvaluator, build_eval_set
from finetune.pairs import data_fingerprint, make_pairs, response_bank
from finetune.response_encoder import export_fields
from finetune.response_model import new_version, write_bank, write_manifest

VALIDATION_CASES = 300


def validation_evaluator(conversations: list[dict], context_turns: int, seed: int,
                         max_cases: int = VALIDATION_CASES) -> RankingEvaluator | None:
    """Validation during training (for the chart only, never to pick a model); None when the
    validation logs are too small to draw 99 distractors."""
    if not conversations:
        return None
    try:
        return RankingEvaluator(build_eval_set(conversations, seed=seed, context_turns=context_turns,
                                               max_cases=max_cases))
    except ValueError:
        return None


def train_response_model(train_conversations: list[dict], models_dir: Path, config: TrainConfig,
                         context_turns: int = 3, validation_conversations: list[dict] | None = None,
                         source: str = "", progress: bool = True, faiss_device: str = "cpu",
                         pairs: list[dict] | None = None, onnx: bool = True) -> tuple[Path, dict]:
    """Train and save a model under `models_dir/<version>/`; returns (model_dir, manifest).

    `pairs` overrides the pairs made from the conversations (the gate's shuffled-pairs check uses it).
    `onnx`: export the trained encoder to `encoder-onnx/` for serving (finetune/response_encoder.py).
    """
    pairs = pairs if pairs is not None else make_pairs(train_conversations, context_turns)
    fingerprint = data_fingerprint(train_conversations)
    version = new_version(fingerprint)
    model_dir = Path(models_dir) / version
    trainer = DualEncoderTrainer(config, progress=progress, faiss_device=faiss_device).load()
    validation = validation_evaluator(validation_conversations or [], context_turns, config.seed)
    run = trainer.train(pairs, model_dir, validation=validation)
    bank = response_bank(pairs)
    bank_info = write_bank(model_dir, trainer.encoder(), bank, faiss_device, progress=progress)
    loss_curve(run.pop("losses"), model_dir / "loss.png")
    eval_chart(run["validation"], model_dir / "eval.png")
    exported = export_fields(model_dir, model_dir / "encoder") if onnx else {}
    manifest = {
        "kind": "responses",
        "version": version,
        "created_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "built_by": "finetune.training.train_response_model",
        "base_model": config.base_model,
        "encoder": "encoder",
        "context_turns": context_turns,
        "data": {"fingerprint": fingerprint, "source": source, "conversations": len(train_conversations),
                 "pairs": len(pairs),
                 "validation_conversations": len(validation_conversations or [])},
        "training": run,
        "bank": bank_info,
        "metrics": {"validation": run["validation"][-1] if run["validation"] else {}},
        **exported,
        "files": ["encoder/", *(["encoder-onnx/"] if exported.get("encoder_onnx") else []),
                  *(["encoder-onnx-int8/"] if exported.get("encoder_onnx_int8") else []), "bank/",
                  "responses.jsonl", "loss.png", "eval.png", "training_log.json"],
    }
    write_manifest(model_dir, manifest)
    return model_dir, manifest
