"""`supportbot bench assist`: how long the agent-assist panel takes to refresh, for a long conversation.

Times `finetune.suggest.Suggester.suggest` (top 3 replies from a response model over its whole bank,
placeholders filled, plus the top 3 KB passages from the hybrid retriever) on the growing prefixes
of one `--turns`-turn conversation from the logs, every customer message being one refresh, repeated
until `--requests` refreshes are timed (after `--warmup` untimed ones). Torch and FAISS are limited
to `--threads` threads. The response model is `--model DIR`, else the serving one, else the un-tuned
encoder over the bank of the logs' agent replies (the same network and bank size as a fine-tuned
model, hence the same cost); the KB index is `--index DIR`, else the configured one, else one built
from data/kb in a temporary folder. `cpu_ms_per_request` (process CPU time, all threads) and
`load_average_1m` say how much of the wall time was other processes on a shared machine. Prints one JSON object on stdout; progress goes
to stderr.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import click


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def long_conversation(conversations: list[dict], turns: int) -> list[dict]:
    """The first conversation with at least `turns` turns, cut to that length (or the longest one)."""
    best = max(conversations, key=lambda c: len(c["turns"]))
    chosen = next((c for c in conversations if len(c["turns"]) >= turns), best)
    return chosen["turns"][:turns]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return round(ordered[max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))], 2)


def _model(settings, model: Path | None, conversations: list[dict], tmp: Path) -> tuple[Path, str]:
    from bench.assist_eval import serving_model_dir
    from finetune.pairs import make_pairs, response_bank
    from finetune.response_model import build_base_model

    if model is not None:
        return model, "given"
    try:
        return serving_model_dir(settings, None), "serving"
    except Exception as exc:  # noqa: BLE001 - no registry yet, nothing serving: the base model stands in
        _log(f"no serving model ({str(exc).splitlines()[0][:120]})")
    bank = response_bank(make_pairs(conversations, settings.finetune_context_turns))
    _log(f"no serving model: building the base encoder over {len(bank)} agent replies")
    return build_base_model(tmp / "model", settings.encoder, bank, {"kind": "responses", "version": "bench",
                                                                     "context_turns": settings.finetune_context_turns},
                            faiss_device=settings.faiss_device, reuse_onnx=settings.nlu_onnx_path), \
        "base encoder over the logs' bank"


def _index(settings, index: Path | None, tmp: Path) -> Path:
    if index is not None:
        return index
    if (Path(settings.index_dir) / "manifest.json").exists():
        return Path(settings.index_dir)
    from retrieval.ingest import ingest_paths

    _log(f"no KB index at {settings.index_dir}: building one from {settings.kb_dir}")
    ingest_paths([Path(settings.kb_dir)], tmp / "index", settings=settings)
    return tmp / "index"


@click.command("assist")
@click.option("--logs", "logs", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="conversation logs (the `logs import` format): the conversation replayed, and the bank if needed")
@click.option("--model", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--index", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None)
@click.option("--turns", type=int, default=20, show_default=True)
@click.option("--requests", type=int, default=300, show_default=True)
@click.option("--warmup", type=int, default=10, show_default=True)
@click.option("--threads", type=int, default=2, show_default=True)
def bench_assist(logs: Path, model: Path | None, index: Path | None, turns: int, requests: int, warmup: int,
                 threads: int) -> None:
    """Suggestion latency (p50/p95/max ms) for a TURNS-turn conversation on THREADS threads."""
    import faiss
    import torch

    from core.settings import get_settings
    from finetune.preprocess import load_logs
    from finetune.response_model import ResponseModel
    from finetune.suggest import Suggester
    from retrieval.service import Retriever

    torch.set_num_threads(threads)
    faiss.omp_set_num_threads(threads)
    settings = get_settings()
    conversations, _ = load_logs(logs, settings.finetune_min_turns)
    conversation = long_conversation(conversations, turns)
    with tempfile.TemporaryDirectory(prefix="bench-assist-") as tmp:
        model_dir, model_source = _model(settings, model, conversations, Path(tmp))
        selector = _FixedSelector(ResponseModel(model_dir, faiss_device=settings.faiss_device).load())
        retriever = Retriever(_index(settings, index, Path(tmp)), settings=settings).load()
        suggester = Suggester(selector, retriever)
        refreshes = [conversation[:i + 1] for i, t in enumerate(conversation) if t["speaker"] == "customer"]
        timings = []
        for n in range(warmup + requests):
            if n == warmup:
                cpu_start = time.process_time()
            prefix = refreshes[n % len(refreshes)]
            started = time.perf_counter()
            suggester.suggest(prefix, {})
            if n >= warmup:
                timings.append(1000 * (time.perf_counter() - started))
        cpu_ms = 1000 * (time.process_time() - cpu_start) / max(1, len(timings))
        bank = len(selector.model.responses)
    click.echo(json.dumps({
        "turns": len(conversation), "refreshes_per_conversation": len(refreshes), "requests": len(timings),
        "threads": threads, "p50_ms": percentile(timings, 50), "p95_ms": percentile(timings, 95),
        "max_ms": round(max(timings), 2), "mean_ms": round(statistics.fmean(timings), 2),
        "cpu_ms_per_request": round(cpu_ms, 2), "load_average_1m": round(os.getloadavg()[0], 2),
        "bank_replies": bank, "model": model_source, "retrieval_mode": settings.retrieval_mode}))


class _FixedSelector:
    """One loaded model behind the `ResponseSelector.select` interface, without registry reload checks."""

    def __init__(self, model):
        self.model = model

    def select(self, context: list[dict], k: int = 5) -> dict | None:
        from finetune.serving import select_with

        return select_with(self.model, context, k)
