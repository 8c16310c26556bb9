"""`supportbot retrain`: import → clean → anonymise → train → evaluate on a held-out split → gate → promote.

The new model starts from the serving model when there is one (it already knows the older logs)
and from the base encoder otherwise. It and the current model (or, with nothing serving, the base
encoder) are evaluated on the same held-out conversations in this run, and the gate decides. Every
trained model is registered, promoted or not, with the reason.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Callable

from finetune.archive import load_archive
from finetune.dual_encoder import TrainConfig
from finetune.errors import FinetuneError, NotEnoughData
from finetune.evaluation import EncoderScorer, RankingEvaluator, build_eval_set
from finetune.gate import PromotionGate
from finetune.importers import ImportResult, read_jsonl, read_store, read_tracker_store
from finetune.pairs import make_pairs, split_conversations
from finetune.preprocess import preprocess
from finetune.registry import Registry
from finetune.response_model import ResponseModel, update_metrics
from finetune.training import train_response_model

KIND = "responses"
MIN_TRAIN_PAIRS = 20


def say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def gather_logs(settings, since=None, files: list[Path] = (), use_store: bool = True,
                tracker_url: str | None = None, log: Callable[[str], None] = say) -> tuple[list[dict], list[dict]]:
    """Conversations from every source, merged by id (store beats tracker beats archive/files:
    the store also has agent turns and corrections); returns (conversations, per-source reports)."""
    results: list[ImportResult] = [load_archive(settings.var_dir, since)]
    results += [read_jsonl(f, since) for f in files]
    if tracker_url:
        results.append(read_tracker_store(tracker_url, since))
    if use_store:
        try:
            results.append(read_store(settings.db_url, since))
        except FinetuneError as exc:  # no store yet is normal on a fresh install fed from files
            log(f"  store skipped: {exc}")
    merged: dict[str, dict] = {}
    for result in results:
        for conv in result.conversations:
            merged[conv["conversation_id"]] = conv
    return list(merged.values()), [r.report() for r in results]


def train_config(settings, base_model: str, **overrides) -> TrainConfig:
    cfg = TrainConfig(
        base_model=base_model, epochs=settings.finetune_epochs, max_steps=settings.finetune_max_steps,
        batch_size=settings.finetune_batch_size, learning_rate=settings.finetune_learning_rate,
        hard_negatives=settings.finetune_hard_negatives, max_seq_length=settings.finetune_max_seq_length,
        seed=settings.finetune_seed, device=settings.finetune_device)
    for key, value in overrides.items():
        if value is not None:
            setattr(cfg, key, value)
    return cfg


def retrain(settings, registry: Registry, since=None, files: list[Path] = (), use_store: bool = True,
            from_base: bool = False, progress: bool = True, pairs_transform: Callable | None = None,
            log: Callable[[str], None] = say, **overrides) -> dict:
    """Run the whole pipeline; returns a report with the gate's decision and why.

    `pairs_transform` rewrites the training pairs before training (tests break them on purpose).
    """
    log("1/5 importing logs")
    raw, sources = gather_logs(settings, since, files, use_store, settings.tracker_store_url or None, log)
    log("2/5 cleaning and anonymising")
    conversations, prep = preprocess(raw, min_turns=settings.finetune_min_turns)
    train, held = split_conversations(conversations, settings.finetune_holdout_fraction, settings.finetune_seed)
    train, validation = split_conversations(train, 0.05, settings.finetune_seed + 1)
    pairs = make_pairs(train, settings.finetune_context_turns)
    if len(pairs) < MIN_TRAIN_PAIRS:
        raise NotEnoughData(f"only {len(pairs)} training pairs from {len(conversations)} conversations "
                            f"(need {MIN_TRAIN_PAIRS}); import more logs with `supportbot logs import`")
    max_cases = settings.finetune_eval_cases or None
    try:
        cases = build_eval_set(held, seed=settings.finetune_seed, context_turns=settings.finetune_context_turns,
                               max_cases=max_cases)
    except ValueError as exc:
        raise NotEnoughData(f"held-out split too small to evaluate ({exc})") from exc
    evaluator = RankingEvaluator(cases)

    serving = registry.serving(KIND)
    start = settings.encoder if (from_base or serving is None) else _encoder_of(serving["path"])
    log(f"3/5 training from {'the serving model ' + serving['version'] if start != settings.encoder else 'the base encoder'}"
        f" on {len(pairs)} pairs")
    cfg = train_config(settings, start, **overrides)
    if pairs_transform is not None:
        pairs = pairs_transform(pairs)
    model_dir, manifest = train_response_model(
        train, settings.finetune_models_dir / KIND, cfg, settings.finetune_context_turns, validation,
        source=f"retrain since {since or 'the beginning'}", progress=progress, faiss_device=settings.faiss_device,
        pairs=pairs)

    log(f"4/5 evaluating on {len(cases)} held-out cases")
    candidate = evaluator.evaluate(EncoderScorer(ResponseModel(model_dir).load(), "candidate"))
    if serving is not None:
        baseline_name = f"serving model {serving['version']}"
        baseline = evaluator.evaluate(EncoderScorer(ResponseModel(serving["path"]).load(), "serving"))
    else:
        from retrieval.encoder import Encoder

        baseline_name = "the base encoder"
        baseline = evaluator.evaluate(EncoderScorer(Encoder(settings.encoder).load(), "base"))
    decision = PromotionGate(margin=settings.promotion_margin).decide(candidate, baseline, baseline_name)
    metrics = {"heldout": candidate, "baseline": {"name": baseline_name, **baseline}, "gate": decision.reason}
    update_metrics(model_dir, metrics)

    log(f"5/5 {decision.reason}")
    registry.register(KIND, manifest["version"], model_dir, metrics, manifest["data"]["fingerprint"])
    if decision.promote:
        registry.promote(KIND, manifest["version"], note=decision.reason)
    else:
        registry.set_status(KIND, manifest["version"], "rejected", note=decision.reason)
    return {
        "version": manifest["version"],
        "model_dir": str(model_dir),
        "promoted": decision.promote,
        "reason": decision.reason,
        "candidate": candidate,
        "baseline": {"name": baseline_name, **baseline},
        "data": {"conversations": len(conversations), "train_pairs": len(pairs), "heldout_cases": len(cases),
                 "sources": sources, **prep},
        "train_seconds": manifest["training"]["train_seconds"],
    }


def _encoder_of(model_dir: str) -> str:
    from finetune.response_model import read_manifest

    encoder = Path(read_manifest(Path(model_dir)).get("encoder", "encoder"))
    return str(encoder if encoder.is_absolute() else Path(model_dir) / encoder)
