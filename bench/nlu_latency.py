"""`python -m bench.nlu_latency`: NLU cost per message of a trained Rasa model, by language (runs in `.venv-rasa`).

Loads the model archive with Rasa's own `Agent` and sends every text of `--texts` (CSV with a `text` column, or
one message a line) through `Agent.parse_message` one at a time, `--rounds` times after warming up on the first 20: the
pipeline a customer's message goes through (tokenizer, featurizers, classifier, out-of-scope detector), without
HTTP, policies or actions. Wall and CPU milliseconds (`time.process_time`, so other work on the machine shows in
the wall figure, not the CPU one) are reported as p50/p95, for all messages and per language (the bilingual
classifier's rule, `rasa_plugins.cjk.script_language`). Prints one
JSON object with the load average, so a figure taken on a busy machine says so. BLAS and OpenMP run one thread
each, as in the Rasa servers `supportbot up` starts (`--blas-threads`; rasa_plugins/blas_threads.py says why).

    .venv-rasa/bin/python -m bench.nlu_latency --model models/supportbot.tar.gz --texts data/eval/zh/kb_dev.csv \
        --texts var/eval/banking77/test.csv --limit 200   # "zh" and "other" (English here)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import sys
import time
from pathlib import Path

from bench.chat import percentile
from rasa_plugins import blas_threads


def language(text: str) -> str:
    """The bilingual classifier's own rule (rasa_plugins/cjk.py)."""
    from rasa_plugins.cjk import script_language

    return script_language(text)


def read_texts(path: Path, limit: int) -> list[str]:
    """The `text` column of a CSV file, or the non-empty lines of any other file; the first `limit`."""
    raw = Path(path).read_text(encoding="utf-8")
    if path.suffix == ".csv":
        texts = [row["text"] for row in csv.DictReader(raw.splitlines()) if row.get("text")]
    else:
        texts = [line.strip() for line in raw.splitlines() if line.strip()]
    if not texts:
        raise SystemExit(f"{path} has no messages (a CSV needs a `text` column)")
    return texts[:limit] if limit else texts


def summary(rows: list[tuple[float, float]]) -> dict:
    walls, cpus = [w for w, _ in rows], [c for _, c in rows]
    return {"messages": len(rows), "wall_ms_p50": percentile(walls, 50), "wall_ms_p95": percentile(walls, 95),
            "cpu_ms_p50": percentile(cpus, 50), "cpu_ms_p95": percentile(cpus, 95)}


async def measure(model: str, texts: list[str], rounds: int) -> dict:
    from rasa.core.agent import Agent

    agent = Agent.load(model)
    for text in texts[:20]:  # warm-up: first calls allocate
        await agent.parse_message(text)
    by_language: dict[str, list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for text in texts:
            w0, c0 = time.perf_counter(), time.process_time()
            await agent.parse_message(text)
            by_language.setdefault(language(text), []).append(
                ((time.perf_counter() - w0) * 1000, (time.process_time() - c0) * 1000))
    every = [row for rows in by_language.values() for row in rows]
    return {"all": summary(every), **{lang: summary(rows) for lang, rows in sorted(by_language.items())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="a Rasa model archive (.tar.gz)")
    parser.add_argument("--texts", action="append", required=True, type=Path,
                        help="CSV with a `text` column, or one message a line (repeatable)")
    parser.add_argument("--limit", type=int, default=200, help="messages taken from each file (0: all)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--blas-threads", type=int, default=1,
                        help="OPENBLAS/OMP/MKL threads, unless set in the environment (the servers': 1)")
    args = parser.parse_args(argv)
    blas_threads.set_defaults(os.environ, args.blas_threads)  # before numpy is imported
    if not Path(args.model).is_file():
        print(f"no model at {args.model}: train one (`supportbot train`, or `rasa train nlu`)", file=sys.stderr)
        return 2
    texts = [t for path in args.texts for t in read_texts(path, args.limit)]
    load_before = os.getloadavg()
    result = asyncio.run(measure(args.model, texts, max(1, args.rounds)))
    print(json.dumps({"model": str(args.model), "rounds": args.rounds,
                      "blas_threads": os.environ["OPENBLAS_NUM_THREADS"], **result,
                      "loadavg_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)]}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
