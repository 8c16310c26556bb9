"""`supportbot eval learnt-routing --test-logs FILE`: how the learnt-reply-first rule splits turns.

The rule (finetune/learnt_routing.py): a typed message whose top learnt reply scores at or above
the model's `learnt_min_score` is answered with that learnt reply ahead of the knowledge base.
This measures it on data the calibration never saw:

- `kb_questions`: Banking77 NLU examples left out of the calibration sample (a seeded sample of the
  rest); `learnt_share` is how many of them a learnt reply would take from the KB;
- `log_turns`: every agent turn of the held-out logs that follows a customer message (as `eval
  assist`); `covered_share` is how many the rule gives to the learnt reply, with recall@1 (the
  agent's actual reply, normalised) among the covered turns and among the others.

A model without a recorded threshold (trained before calibration existed, or a base-encoder model
passed with `--model`) is calibrated here with `response_learnt_quantile`. One JSON object on stdout.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import click

from bench.assist_eval import cases_of, serving_model_dir

KB_CHECK = 600


def held_out_questions(n: int, seed: int) -> list[str]:
    """Banking77 NLU examples that are not in the calibration sample."""
    from finetune.learnt_routing import KB_QUESTIONS, kb_questions, nlu_examples

    used = set(kb_questions())
    rest = sorted({t for texts in nlu_examples(KB_QUESTIONS).values() for t in texts} - used)
    return random.Random(seed).sample(rest, min(n, len(rest)))


def routing_report(model, conversations: list[dict], quantile: float, seed: int) -> dict:
    from finetune.learnt_routing import calibrate, learnt_min_score, top_scores
    from finetune.pairs import format_context
    from finetune.suggest import normalise_reply

    floor = learnt_min_score(model.manifest)
    calibrated_here = floor is None
    if calibrated_here:
        floor = calibrate(model, quantile)["learnt_min_score"]
    questions = held_out_questions(KB_CHECK, seed)
    kb = top_scores(model, questions)
    cases = cases_of(conversations)
    if not cases:
        raise click.ClickException("the test logs hold no agent reply after a customer message to evaluate")
    turns = int(model.manifest.get("context_turns", 3))
    rows = model.select([format_context(context, turns) for context, _ in cases], 1)
    covered = {"cases": 0, "right": 0}
    other = {"cases": 0, "right": 0}
    for (_, truth), row in zip(cases, rows):
        top = row[0] if row else {"text": "", "score": 0.0}
        bucket = covered if top["score"] >= floor else other
        bucket["cases"] += 1
        bucket["right"] += normalise_reply(top["text"]) == normalise_reply(truth)

    def recall(bucket: dict) -> float | None:
        return round(bucket["right"] / bucket["cases"], 4) if bucket["cases"] else None

    return {"model_version": model.version, "learnt_min_score": floor, "calibrated_here": calibrated_here,
            "kb_questions": {"n": len(questions), "learnt_share": round(float((kb >= floor).mean()), 4)},
            "log_turns": {"n": len(cases), "covered_share": round(covered["cases"] / len(cases), 4),
                          "recall@1_covered": recall(covered), "recall@1_not_covered": recall(other)}}


@click.command("learnt-routing")
@click.option("--test-logs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="a response model directory (default: the serving model)")
@click.option("--encoder-runtime", type=click.Choice(["auto", "torch"]), default="auto", show_default=True,
              help="auto: the model's ONNX export when it is usable (what serving uses); torch: the sentence-transformer")
@click.option("--encoder-precision", type=click.Choice(["float32", "int8"]), default=None,
              help="the ONNX graph: float32 or the model's int8 copy (default: response_encoder_precision)")
def eval_learnt_routing(test_logs: Path, model: Path | None, encoder_runtime: str,
                        encoder_precision: str | None) -> None:
    """Which held-out log turns and KB questions the learnt-reply-first rule gives to learnt replies."""
    from core.settings import get_settings
    from finetune.preprocess import load_logs
    from finetune.response_model import ResponseModel

    settings = get_settings()
    conversations, report = load_logs(test_logs, settings.finetune_min_turns)
    print(f"test logs: {json.dumps(report['import'])}", file=sys.stderr, flush=True)
    loaded = ResponseModel(serving_model_dir(settings, model), device=settings.encoder_device,
                           faiss_device=settings.faiss_device, threads=0, encoder_runtime=encoder_runtime,
                           encoder_precision=encoder_precision or settings.response_encoder_precision).load()
    print(f"response encoder: {loaded.runtime} ({loaded.runtime_reason or 'its ONNX export'})",
          file=sys.stderr, flush=True)
    result = routing_report(loaded, conversations, settings.response_learnt_quantile, settings.finetune_seed)
    click.echo(json.dumps({**result, "test_logs": str(test_logs), "encoder_runtime": loaded.runtime}))
