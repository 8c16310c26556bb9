"""`supportbot eval assist --test-logs FILE`: how often the agent-assist panel holds what the agent wrote.

Replays held-out conversations (the `logs import` format; imported, cleaned and anonymised the same
way): at every agent turn that follows a customer message, the serving model proposes its top 3
replies for the conversation so far (the agent turns before it included), and a case counts for
recall@k when one of the first k matches what the agent actually wrote after
`finetune.suggest.normalise_reply` (case, spacing, punctuation and placeholders do not matter).
Unlike `eval responses` (recall@1 among 100 sampled candidates) this ranks the model's whole bank,
as the panel does. Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import click

from finetune.suggest import context_of, normalise_reply

K = 3


def cases_of(conversations: list[dict], max_cases: int | None = None, seed: int = 13) -> list[tuple[list, str]]:
    """(context turns, the agent's reply) for each agent turn with a customer message before it."""
    cases = []
    for conv in conversations:
        turns = conv["turns"]
        for i, turn in enumerate(turns):
            if turn["speaker"] == "agent" and any(t["speaker"] == "customer" for t in turns[:i]):
                cases.append((context_of(turns[:i]), turn["text"]))
    if max_cases and len(cases) > max_cases:
        cases = random.Random(seed).sample(cases, max_cases)
    return cases


def evaluate(model, conversations: list[dict], max_cases: int | None = None, seed: int = 13) -> dict:
    """recall@1, recall@3, cases and ms per suggestion for a loaded `ResponseModel`."""
    from finetune.serving import select_with

    cases = cases_of(conversations, max_cases, seed)
    if not cases:
        raise click.ClickException("the test logs hold no agent reply after a customer message to evaluate")
    hits = [0] * K
    elapsed = []
    for n, (context, truth) in enumerate(cases, start=1):
        started = time.perf_counter()
        selection = select_with(model, context, K)
        candidates = selection["candidates"] if selection else []
        elapsed.append(time.perf_counter() - started)
        want = normalise_reply(truth)
        found = next((rank for rank, c in enumerate(candidates) if normalise_reply(c["text"]) == want), None)
        if found is not None:
            for k in range(found, K):
                hits[k] += 1
        if n % 200 == 0:
            print(f"  {n}/{len(cases)} cases", file=sys.stderr, flush=True)
    elapsed.sort()
    return {"recall@1": round(hits[0] / len(cases), 4), "recall@3": round(hits[K - 1] / len(cases), 4),
            "cases": len(cases), "ms_per_suggestion": round(1000 * sum(elapsed) / len(elapsed), 2),
            "ms_p95": round(1000 * elapsed[int(0.95 * (len(elapsed) - 1))], 2), "model_version": model.version}


def serving_model_dir(settings, model: Path | None) -> Path:
    if model is not None:
        return model
    from finetune.registry import Registry

    registry = Registry.open(settings.db_url, migrate=False)
    try:
        pointer = registry.serving_pointer("responses")
    finally:
        registry.close()
    if pointer is None:
        raise click.ClickException("no response model is serving: run `supportbot retrain` (or pass --model DIR)")
    return Path(pointer[1])


@click.command("assist")
@click.option("--test-logs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="a response model directory (default: the serving model)")
@click.option("--encoder-runtime", type=click.Choice(["auto", "torch"]), default="auto", show_default=True,
              help="auto: the model's ONNX export when it is usable (what serving uses); torch: the sentence-transformer")
@click.option("--encoder-precision", type=click.Choice(["float32", "int8"]), default=None,
              help="the ONNX graph: float32 or the model's int8 copy (default: response_encoder_precision)")
@click.option("--max-cases", type=int, default=None, help="evaluate on this many cases (seeded sample)")
def eval_assist(test_logs: Path, model: Path | None, encoder_runtime: str, encoder_precision: str | None,
                max_cases: int | None) -> None:
    """Replay held-out conversations with the serving model: recall@1/@3 of the agents' actual replies."""
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
    result = evaluate(loaded, conversations, max_cases, settings.finetune_seed)
    click.echo(json.dumps({**result, "test_logs": str(test_logs), "encoder_runtime": loaded.runtime}))
