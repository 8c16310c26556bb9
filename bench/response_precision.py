"""`supportbot bench response-precision --model DIR --test-logs FILE`: the response model's float32 ONNX
encoder against its int8 copy, on the same held-out logs.

For each precision (`response_encoder_precision`), the model is loaded as the action server loads it
(one onnxruntime thread) and measured on:

- `cpu_ms_per_encode`: thread CPU time (`time.thread_time`, which counts this thread only: the
  session runs on one intra-op thread, the caller's) and wall time of encoding one context, for
  `--contexts` contexts of the held-out logs formatted as serving formats them (`finetune.serving`),
  one at a time after a warm-up; median and mean;
- `cpu_ms_per_kb_question`: the same for `--contexts` KB questions as one-turn contexts (Banking77
  examples not used to calibrate `learnt_min_score`): what the selector encodes on a KB turn;
- `heldout_100`: recall@1 / recall@5 / MRR of the true reply among 100 candidates on the held-out
  logs (`finetune.evaluation`, the protocol of `supportbot eval responses` and the retrain gate).

Then, between the two, on every held-out log context and on 1,000 KB questions: the cosine of the int8
context vectors to the float32 ones (min / mean), the share of contexts whose top bank reply is the same,
and how far the two top scores differ (max, p99, mean): the int8 screen's margin
(`response_screen_margin`, actions/screen.py) must cover that. Under `screen`, for a KB answer (the KB
confident, so only the model's `learnt_min_score` matters): the share of contexts the screen settles at
that margin (int8 top score + margin below the floor: no float32 encode) and, among them, how many float32
would have given the learnt reply (`overruled`, which must be 0). `supportbot eval assist` and
`supportbot eval learnt-routing` (`--encoder-precision int8`) give the bank-wide recall and the routing figures.
Prints one JSON object on stdout.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

import click
import numpy as np

PRECISIONS = ("float32", "int8")
COMPARED_QUESTIONS = 1000  # KB questions the two precisions are compared on (all held-out log contexts are)


def encode_cpu(model, contexts: list[str], warmup: int = 5) -> dict:
    """Thread-CPU and wall milliseconds per single-context encode."""
    for text in contexts[:warmup]:
        model.encode([text])
    cpu, wall = [], []
    for text in contexts:
        c0, w0 = time.thread_time(), time.perf_counter()
        model.encode([text])
        cpu.append(1000 * (time.thread_time() - c0))
        wall.append(1000 * (time.perf_counter() - w0))
    return {"contexts": len(contexts), "cpu_ms_median": round(statistics.median(cpu), 2),
            "cpu_ms_mean": round(statistics.fmean(cpu), 2), "wall_ms_median": round(statistics.median(wall), 2)}


def compare(models: dict, contexts: list[str], margin: float) -> dict:
    """Cosine of int8 to float32 context vectors, agreement of their top bank reply, the top scores'
    difference, and what the int8 screen settles at `margin` for a KB answer."""
    from finetune.learnt_routing import learnt_min_score

    a, b = (models[p].encode(contexts) for p in PRECISIONS)
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    rows = {p: [row[0] if row else {"text": None, "score": 0.0} for row in models[p].select(contexts, 1)]
            for p in PRECISIONS}
    f32, i8 = (np.array([r["score"] for r in rows[p]]) for p in PRECISIONS)
    delta = np.abs(i8 - f32)
    out = {"cosine_min": round(float(cos.min()), 4), "cosine_mean": round(float(cos.mean()), 4),
           "same_top_reply": round(float(np.mean([x["text"] == y["text"] for x, y in zip(*rows.values())])), 4),
           "top_score_delta": {"max": round(float(delta.max()), 4), "p99": round(float(np.quantile(delta, 0.99)), 4),
                               "mean": round(float(delta.mean()), 4)}}
    floor = learnt_min_score(models["float32"].manifest)
    if floor is not None:
        settled = i8 + margin < floor
        out["screen"] = {"margin": margin, "learnt_min_score": floor, "settled": round(float(settled.mean()), 4),
                         "overruled": int((settled & (f32 >= floor)).sum())}
    return out


@click.command("response-precision")
@click.option("--model", "model_dir", required=True, type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="a response model directory with encoder-onnx-int8/ (`supportbot models quantize DIR`)")
@click.option("--test-logs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--contexts", type=int, default=200, show_default=True, help="contexts timed per precision")
@click.option("--max-cases", type=int, default=None, help="100-candidate cases (seeded sample; default all)")
def bench_response_precision(model_dir: Path, test_logs: Path, contexts: int, max_cases: int | None) -> None:
    """float32 against int8 for the response model's ONNX encoder: CPU per encode, recall@1 of 100."""
    from bench.assist_eval import cases_of
    from bench.learnt_routing_eval import held_out_questions
    from core.settings import get_settings
    from finetune.evaluation import EncoderScorer, held_out_evaluator
    from finetune.pairs import format_context
    from finetune.preprocess import load_logs
    from finetune.response_model import ResponseModel

    settings = get_settings()
    conversations, _ = load_logs(test_logs, settings.finetune_min_turns)
    models = {p: ResponseModel(model_dir, threads=1, encoder_precision=p).load() for p in PRECISIONS}
    runtimes = {p: m.runtime for p, m in models.items()}
    if runtimes != {"float32": "onnx", "int8": "onnx-int8"}:
        raise click.ClickException(f"both ONNX graphs must load to compare them, got {runtimes} "
                                   f"({models['int8'].runtime_reason or 'see the warning above'})")
    turns = int(models["float32"].manifest.get("context_turns", 3))
    texts = [format_context(c, turns) for c, _ in cases_of(conversations)]
    timed = random.Random(settings.finetune_seed).sample(texts, min(contexts, len(texts)))
    questions = [format_context([{"speaker": "customer", "text": q}], turns)
                 for q in held_out_questions(contexts, settings.finetune_seed)]
    evaluator = held_out_evaluator(conversations, settings, max_cases, f"cannot evaluate on {test_logs}")
    out: dict = {"model_version": models["float32"].version, "test_logs": str(test_logs),
                 "load_avg_1m": round(os.getloadavg()[0], 2)}
    for precision, model in models.items():
        print(f"{precision}: timing {len(timed)} encodes, then {len(evaluator.cases)} cases", file=sys.stderr,
              flush=True)
        out[precision] = {"cpu_ms_per_encode": encode_cpu(model, timed),
                          "cpu_ms_per_kb_question": encode_cpu(model, questions),
                          "heldout_100": evaluator.evaluate(EncoderScorer(model, precision))}
    margin = settings.response_screen_margin
    compared = [format_context([{"speaker": "customer", "text": q}], turns)
                for q in held_out_questions(COMPARED_QUESTIONS, settings.finetune_seed)]
    out["int8_vs_float32"] = {"log_contexts": {"contexts": len(texts), **compare(models, texts, margin)},
                              "kb_questions": {"contexts": len(compared), **compare(models, compared, margin)}}
    out["load_avg_1m_end"] = round(os.getloadavg()[0], 2)
    click.echo(json.dumps(out))
