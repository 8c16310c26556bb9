"""`bench.action_cpu` runs the real executor on the request Rasa would send, with Rasa's embedding used."""

from __future__ import annotations

import asyncio
import json

import pytest

from actions.server import build_executor
from bench.action_cpu import request_body, run


@pytest.mark.slow
def test_the_bench_answers_from_the_kb_with_the_carried_embedding(warm_services):
    raw = request_body(warm_services, turns=3)
    body = json.loads(raw)
    assert body["next_action"] == "action_answer_question" and len(body["tracker"]["events"]) > 6
    out = asyncio.run(run(build_executor(warm_services), raw, repeat=3))
    assert out["answer_source"] == "kb" and out["embedding"] == "rasa"  # answered, and nothing encoded again
    assert 0 < out["main_thread_cpu_ms"] <= out["cpu_ms_per_request"] and out["wall_ms"] > 0
