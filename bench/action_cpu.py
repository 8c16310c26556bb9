"""`python -m bench.action_cpu`: the action server's CPU for one KB answer, in process, by conversation length.

Warms the action services of the configured deployment up (the KB index and the serving response model, as
`supportbot up` does), builds the request Rasa sends for a conversation of `--turns` customer/bot exchanges
(`bench.action_request`, built in Rasa's runtime), puts a KB question with the embedding Rasa's NLU would
carry into its latest message, and runs rasa_sdk's executor on it `--repeat` times, decoding the JSON body and
encoding the JSON response as the webhook does. Sanic's own request handling is not included.

Prints one JSON object per `--turns` value: events in the request, its bytes, process CPU per request (every
thread: the KB search and the selector's encode run in worker threads), the main thread's part of it (rasa_sdk
and the action's own Python) and the wall time, with the answer's source, whether Rasa's embedding was used and
whether the response selector's int8 screen settled the answer (`screened`: no float32 encode, actions/screen.py).

    .venv/bin/python -m bench.action_cpu --turns 1 --turns 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

QUESTION = "How do I top up my account by bank transfer?"


def request_body(services, turns: int, text: str = QUESTION) -> str:
    """The slimmed request for a `turns`-exchange conversation whose latest message is `text`, carrying its
    embedding as Rasa's featurizer puts it in the parse data."""
    from bench.action_request import measure
    from rasa_plugins import embedding_wire

    body = measure(turns)["bodies"]["slim"]
    body["next_action"] = "action_answer_question"
    encoder = services.retriever.encoder
    latest = body["tracker"]["latest_message"]
    latest["text"] = text
    latest[embedding_wire.KEY] = embedding_wire.pack(encoder.encode([text])[0], encoder.fingerprint)
    for event in reversed(body["tracker"]["events"]):
        if event.get("event") == "user":
            event["text"], event["parse_data"] = text, latest
            break
    return json.dumps(body)


async def run(executor, raw: str, repeat: int) -> dict:
    async def once() -> str:
        result = await executor.run(json.loads(raw))
        return json.dumps(result.model_dump())

    answer = json.loads(await once())  # warm
    note = next((m["custom"]["supportbot"] for m in answer["responses"] if (m.get("custom") or {}).get("supportbot")),
                {})
    process, thread, wall = time.process_time(), time.thread_time(), time.perf_counter()
    for _ in range(repeat):
        await once()
    return {"cpu_ms_per_request": round((time.process_time() - process) / repeat * 1000, 2),
            "main_thread_cpu_ms": round((time.thread_time() - thread) / repeat * 1000, 2),
            "wall_ms": round((time.perf_counter() - wall) / repeat * 1000, 2),
            "answer_source": note.get("answer_source"), "embedding": note.get("embedding"),
            "screened": bool(note.get("candidates_screened"))}


def main(argv: list[str] | None = None) -> None:
    from actions.server import build_executor
    from actions.services import ActionServices
    from core.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, action="append", help="exchanges per session (repeatable; default 1, 20)")
    parser.add_argument("--repeat", type=int, default=60)
    args = parser.parse_args(argv)
    services = ActionServices.from_settings(Settings())
    warm = services.warm_up()
    if warm.get("kb") != "ready":
        raise SystemExit(f"the action services did not warm up ({warm}); run `supportbot train` first")
    executor = build_executor(services)
    for turns in args.turns or [1, 20]:
        raw = request_body(services, turns)
        out = {"turns": turns, "events": len(json.loads(raw)["tracker"]["events"]), "bytes": len(raw.encode()),
               "response_model": services.selector.model_version if services.selector else None, "response_encoder": warm.get("response_encoder"),
               "loadavg": [round(x, 2) for x in os.getloadavg()]}
        print(json.dumps(out | asyncio.run(run(executor, raw, args.repeat))))


if __name__ == "__main__":
    main()
