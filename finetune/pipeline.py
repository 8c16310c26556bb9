"""`supportbot retrain`: import → clean → anonymise → train → evaluate on a held-out split → gate → promote.

The new response model starts from the serving one when there is one (it already knows the older
logs) and from the base encoder otherwise. Candidate and baseline (the serving model or, with
nothing serving, the un-tuned starting point) are evaluated on the same held-out conversations in
the same run, and the gate decides. Every trained model is registered, promoted or not, with the
reason. `retrain_generator` does the same for the generative option.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from finetune.archive import load_archive
from finetune.dual_encoder import TrainConfig
from finetune.errors import FinetuneError, NotEnoughData
from finetune.evaluation import EncoderScorer, RankingEvaluator, held_out_evaluator
from finetune.gate import PromotionGate, bank_leaks
from finetune.importers import ImportResult, read_jsonl, read_store, read_tracker_store
from finetune.learnt_routing import calibrate_routing
from finetune.pairs import data_fingerprint, make_pairs, split_conversations
from finetune.preprocess import preprocess
from finetune.registry import Registry
from finetune.response_model import ResponseModel, read_manifest, update_metrics

MIN_TRAIN_PAIRS = 20
GENERATOR_EVAL_CASES = 200  # each case scores 100 candidates with the language model


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


@dataclass
class Prepared:
    """The data of one retrain run, split once and used by every step."""

    conversations: list[dict]
    train: list[dict]
    validation: list[dict]
    pairs: list[dict]
    evaluator: RankingEvaluator
    report: dict


def prepare_data(settings, since, files, use_store, log, max_cases: int | None) -> Prepared:
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
    evaluator = held_out_evaluator(held, settings, max_cases,
                                   "held-out split too small to evaluate; import more logs")
    cases = evaluator.cases
    report = {"conversations": len(conversations), "train_pairs": len(pairs), "heldout_cases": len(cases),
              "agent_assist_pairs": {label: sum(p.get("label") == label for p in pairs)
                                     for label in ("confirmed", "correction")},
              "sources": sources, **prep}
    return Prepared(conversations, train, validation, pairs, evaluator, report)


def judge(registry: Registry, kind: str, margin: float, model_dir: Path, manifest: dict, candidate: dict,
          baseline: dict, baseline_name: str, data: Prepared, log: Callable[[str], None]) -> dict:
    """Gate (quality, then personal data left in the response bank), record the metrics beside the
    model and in the registry with the conversations it learnt from, promote or reject."""
    leaks = bank_leaks(model_dir, log)
    decision = PromotionGate(margin=margin).decide(candidate, baseline, baseline_name, leaks)
    metrics = {"heldout": candidate, "baseline": {"name": baseline_name, **baseline}, "gate": decision.reason,
               "bank_personal_data": leaks}
    update_metrics(model_dir, metrics)
    log(f"5/5 {decision.reason}")
    registry.register(kind, manifest["version"], model_dir, metrics, manifest["data"]["fingerprint"],
                      conversations=[c["conversation_id"] for c in data.train + data.validation])
    if decision.promote:
        registry.promote(kind, manifest["version"], note=decision.reason)
    else:
        registry.set_status(kind, manifest["version"], "rejected", note=decision.reason)
    return {"kind": kind, "version": manifest["version"], "model_dir": str(model_dir), "promoted": decision.promote,
            "reason": decision.reason, "candidate": candidate, "baseline": {"name": baseline_name, **baseline},
            "data": data.report, "bank_personal_data": leaks, "train_seconds": manifest["training"]["train_seconds"]}


def retrain(settings, registry: Registry, since=None, files: list[Path] = (), use_store: bool = True,
            from_base: bool = False, progress: bool = True, pairs_transform: Callable | None = None,
            log: Callable[[str], None] = say, start_encoder: str | None = None, **overrides) -> dict:
    """The response-selection model; `pairs_transform` rewrites the training pairs before training
    (tests break them on purpose to check the gate). `start_encoder`: what a training from the base starts
    from instead of `settings.encoder` (the first model's shallower copy of it, finetune/layers.py); the gate
    still compares with `settings.encoder` itself."""
    from finetune.training import train_response_model

    data = prepare_data(settings, since, files, use_store, log, settings.finetune_eval_cases or None)
    serving = registry.serving("responses")
    continual = serving is not None and not from_base
    start = _encoder_of(serving["path"]) if continual else (start_encoder or settings.encoder)
    log(f"3/5 training from {'serving model ' + serving['version'] if continual else _base_name(start, settings)}"
        f" on {len(data.pairs)} pairs")
    pairs = pairs_transform(data.pairs) if pairs_transform else data.pairs
    model_dir, manifest = train_response_model(
        data.train, settings.finetune_models_dir / "responses", train_config(settings, start, **overrides),
        settings.finetune_context_turns, data.validation, source=f"retrain since {since or 'the beginning'}",
        progress=progress, faiss_device=settings.faiss_device, pairs=pairs)

    log(f"4/5 evaluating on {len(data.evaluator.cases)} held-out cases")
    precision = settings.response_encoder_precision  # calibrate and judge with the encoder that will serve
    loaded = ResponseModel(model_dir, threads=0, encoder_precision=precision).load()  # batch: onnxruntime's threads
    manifest = calibrate_routing(model_dir, loaded, settings.response_learnt_quantile)
    candidate = data.evaluator.evaluate(EncoderScorer(loaded, "candidate"))
    if serving is not None:
        name = f"serving model {serving['version']}"
        baseline = data.evaluator.evaluate(EncoderScorer(ResponseModel(serving["path"], threads=0,
                                                                       encoder_precision=precision).load(), "serving"))
    else:
        from retrieval.encoder import Encoder

        name = "the base encoder"
        baseline = data.evaluator.evaluate(EncoderScorer(Encoder(settings.encoder).load(), "base"))
    return judge(registry, "responses", settings.promotion_margin, model_dir, manifest, candidate, baseline, name,
                 data, log)


def _base_name(start: str, settings) -> str:
    if str(start) == str(settings.encoder):
        return "the base encoder"
    from finetune.layers import kept_layers

    layers = kept_layers(start)
    return f"encoder {start}" if layers is None else f"the base encoder's first {layers} layer{'s' * (layers != 1)}"


def retrain_generator(settings, registry: Registry, since=None, files: list[Path] = (), use_store: bool = True,
                      progress: bool = True, log: Callable[[str], None] = say, max_steps: int | None = None,
                      **config_overrides) -> dict:
    """The generative option: LoRA on `generator_base_model`, grounded on KB passages when an index exists."""
    from finetune.generative import Generator, GeneratorConfig, train_generator

    if not settings.generator_base_model:
        raise FinetuneError("set SUPPORTBOT_GENERATOR_BASE_MODEL to a causal LM (hub name or local path) "
                            "to train the generative option; see docs/finetune.md")
    cases = min(settings.finetune_eval_cases or GENERATOR_EVAL_CASES, GENERATOR_EVAL_CASES)
    data = prepare_data(settings, since, files, use_store, log, cases)
    passages = kb_passages(settings, [p["context"] for p in data.pairs], log)
    cfg = GeneratorConfig(base_model=settings.generator_base_model, lora_rank=settings.generator_lora_rank,
                          lora_alpha=2 * settings.generator_lora_rank, epochs=settings.finetune_epochs,
                          max_steps=max_steps or settings.finetune_max_steps, seed=settings.finetune_seed,
                          device=settings.finetune_device, **config_overrides)
    log(f"3/5 LoRA fine-tuning {cfg.base_model} on {len(data.pairs)} pairs")
    model_dir, manifest = train_generator(data.pairs, settings.finetune_models_dir / "generator", cfg,
                                          data_fingerprint(data.train), passages, progress)
    log(f"4/5 evaluating on {len(data.evaluator.cases)} held-out cases")
    candidate = data.evaluator.evaluate(Generator(model_dir, settings.finetune_device).load())
    serving = registry.serving("generator")
    if serving is not None:
        name = f"serving generator {serving['version']}"
        baseline = data.evaluator.evaluate(Generator(serving["path"], settings.finetune_device).load())
    else:
        name = "the base language model without adapter"
        baseline = data.evaluator.evaluate(Generator(model_dir, settings.finetune_device).load(with_adapter=False))
    return judge(registry, "generator", settings.promotion_margin, model_dir, manifest, candidate, baseline, name,
                 data, log)


def kb_passages(settings, queries: list[str], log: Callable[[str], None], k: int = 2) -> list[list[str]] | None:
    """Top-k knowledge-base passages per query, or None (ungrounded) when no KB index is built."""
    from retrieval.service import Retriever

    try:
        retriever = Retriever(settings.index_dir, settings=settings).load()
    except Exception as exc:  # noqa: BLE001 - IndexMissing and friends: train ungrounded and say so
        log(f"  training without KB passages ({exc})")
        return None
    return [[hit["text"][:400] for hit in retriever.search(q, k=k)] for q in queries]


def _encoder_of(model_dir: str) -> str:
    encoder = Path(read_manifest(Path(model_dir)).get("encoder", "encoder"))
    return str(encoder if encoder.is_absolute() else Path(model_dir) / encoder)
