"""`supportbot eval responses`: train on one log file, evaluate on another, three systems side by side.

The test logs are only ever evaluated on: validation during training (for the chart) uses a seeded
5 % of the *training* conversations, and nothing is selected on it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def run_eval_responses(settings, train_logs: Path, test_logs: Path, out: Path | None = None,
                       max_cases: int | None = None, progress: bool = True, **overrides) -> dict:
    # heavy (torch): imported when the evaluation runs, not when `supportbot eval --help` lists it
    from finetune.charts import eval_chart
    from finetune.evaluation import BM25Scorer, EncoderScorer, held_out_evaluator
    from finetune.pairs import split_conversations
    from finetune.pipeline import train_config
    from finetune.preprocess import load_logs
    from finetune.response_model import ResponseModel, update_metrics
    from finetune.training import train_response_model
    from retrieval.encoder import Encoder

    train_all, train_report = load_logs(train_logs, settings.finetune_min_turns)
    test, test_report = load_logs(test_logs, settings.finetune_min_turns)
    _log(f"train logs: {json.dumps(train_report['import'])}\ntest logs: {json.dumps(test_report['import'])}")
    train, validation = split_conversations(train_all, 0.05, settings.finetune_seed + 1)
    evaluator = held_out_evaluator(test, settings, max_cases, f"cannot evaluate on {test_logs}")
    cases = evaluator.cases
    _log(f"{len(cases)} test cases; scoring BM25 and the base encoder")
    results = {"bm25": evaluator.evaluate(BM25Scorer()),
               "base": evaluator.evaluate(EncoderScorer(Encoder(settings.encoder).load(), "base", progress))}
    _log(f"bm25 {results['bm25']}\nbase {results['base']}")

    cfg = train_config(settings, settings.encoder, **overrides)
    models_dir = out or settings.finetune_models_dir / "eval"
    model_dir, manifest = train_response_model(train, models_dir, cfg, settings.finetune_context_turns, validation,
                                               source=str(train_logs), progress=progress,
                                               faiss_device=settings.faiss_device)
    model = ResponseModel(model_dir, threads=0).load()
    results["finetuned"] = evaluator.evaluate(EncoderScorer(model, "finetuned", progress))
    _log(f"finetuned {results['finetuned']}  (model: {model_dir})")
    training = manifest["training"]
    update_metrics(model_dir, {"test": {**results, "test_logs": str(test_logs), "cases": len(cases)}})
    eval_chart(training["validation"], model_dir / "eval.png", final=results)
    _log(f"steps {training['steps']} on {training['device']}, {training['train_seconds']} s wall, "
         f"{training['cpu_seconds']} s CPU (hard-negative mining {training['hard_negative_mining_seconds']} s)")
    return {
        "base": _pick(results["base"]),
        "bm25": _pick(results["bm25"]),
        "finetuned": _pick(results["finetuned"]),
        "pairs": len(cases),
        "train_seconds": training["train_seconds"],
    }


def _pick(metrics: dict) -> dict:
    return {"recall@1": metrics["recall@1"], "mrr": metrics["mrr"]}


@click.command("responses")
@click.option("--train-logs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--test-logs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--max-steps", type=int, default=None, help="cap optimiser steps (default: setting)")
@click.option("--epochs", type=int, default=None)
@click.option("--batch-size", type=int, default=None)
@click.option("--learning-rate", type=float, default=None)
@click.option("--hard-negatives", type=int, default=None)
@click.option("--eval-every", type=int, default=None, help="validation pass every N steps (for the chart)")
@click.option("--max-cases", type=int, default=None, help="evaluate on this many test cases (seeded sample)")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="models folder (default var/models/eval)")
def eval_responses(train_logs, test_logs, max_steps, epochs, batch_size, learning_rate, hard_negatives,
                   eval_every, max_cases, out) -> None:
    """Train on A, evaluate on B: base encoder, BM25 and the fine-tuned model side by side (recall@1 of 100)."""
    from core.settings import get_settings
    from finetune.errors import FinetuneError

    try:
        result = run_eval_responses(get_settings(), train_logs, test_logs, out, max_cases=max_cases,
                                    max_steps=max_steps, epochs=epochs, batch_size=batch_size,
                                    learning_rate=learning_rate, hard_negatives=hard_negatives,
                                    eval_every=eval_every)
    except FinetuneError as exc:
        raise click.ClickException(str(exc)) from exc
    sys.stderr.flush()
    click.echo(json.dumps(result, ensure_ascii=False, default=str))
