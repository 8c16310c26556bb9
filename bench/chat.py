"""`supportbot bench chat`: N real WebSocket sessions through the bot service, side by side with Rasa.

Each session connects, says hello, then sends M messages one after another: the next once the
previous is answered and the customer has "read and typed" for a think time (`--think-ms`, drawn
uniformly from 0.5x to 1.5x with a fixed seed; sessions start spread over one think time, as real
customers do not all press Enter at the same instant). `--think-ms 0` sends back to back with every
session starting at once: a saturation test that measures throughput, not what a customer sees.
Latency is from sending a message to the end of its answer (the `typing: false` event, i.e. replies
stored and delivered). `answered` counts messages that got a bot reply, including late ones after a
"taking longer" notice (`slow_notices`). Afterwards the store is asked how many of the sent messages
it holds (`stored`), and the same messages are sent with the same concurrency and pacing straight to
Rasa's REST channel, so `overhead_p50`/`overhead_p95` show what the bot service adds. With several
`--text`s, `by_text` splits the latencies per text (e.g. KB questions beside rule answers). `--rounds R`
repeats both, alternating which goes first, and pools the latencies. Both paths use the same
client library (aiohttp), and `client_cpu_ms_per_message` says what the load generator cost per
message on each path, since it shares the cores with the services it measures. Prints one JSON
object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import statistics
import sys
import time
import uuid

import aiohttp
import click


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return round(ordered[k], 1)


class Pacing:
    """Think times between one session's messages: uniform in [0.5, 1.5] x think_ms, seeded per session."""

    def __init__(self, think_ms: float, session: int, seed: int = 7):
        self.think_s = max(0.0, think_ms) / 1000
        self._rng = random.Random(seed * 100_003 + session)

    def first(self) -> float:
        """Start offset: spread over one think time (0 when pacing is off)."""
        return self._rng.uniform(0, self.think_s)

    def next(self) -> float:
        return self._rng.uniform(0.5 * self.think_s, 1.5 * self.think_s)


def cpu_s() -> float:
    """This process's CPU time so far (user + system): what the load generator itself costs the cores."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def summary(latencies: list[float]) -> dict:
    return {"p50_ms": percentile(latencies, 50), "p95_ms": percentile(latencies, 95),
            "p99_ms": percentile(latencies, 99),
            "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None}


class _Socket:
    """One widget connection over aiohttp's WebSocket client: text frames in, text frames out."""

    def __init__(self, ws):
        self.ws = ws

    async def send(self, text: str) -> None:
        await self.ws.send_str(text)

    async def recv(self) -> str:
        msg = await self.ws.receive()
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise ConnectionError(f"the bot service closed the WebSocket ({msg.type.name}, {msg.data!r})")
        return msg.data


async def _widget_session(ws_url: str, run: str, n: int, texts: list[str], messages: int, start: asyncio.Event,
                          out: dict, timeout: float, http, think_ms: float = 0.0) -> None:
    try:
        async with http.ws_connect(ws_url, max_msg_size=1 << 20, autoping=True) as raw:
            ws = _Socket(raw)
            await ws.send(json.dumps({"type": "hello"}))
            while json.loads(await asyncio.wait_for(ws.recv(), timeout))["type"] != "history":
                pass
            await start.wait()
            pacing = Pacing(think_ms, n)
            await asyncio.sleep(pacing.first())
            acked: set[int] = set()
            answered: set[int] = set()
            waiting_late = 0

            def note(ev: dict) -> None:
                nonlocal waiting_late
                if ev["type"] == "ack":
                    acked.add(ev["turn_id"])
                elif ev["type"] == "message" and ev.get("reply_to") in acked:
                    if ev.get("speaker") == "bot":
                        answered.add(ev["reply_to"])
                    elif ev.get("notice"):
                        out["notices"] += 1
                        waiting_late += ev["notice"] == "rasa_timeout"

            for i in range(messages):
                if i:
                    await asyncio.sleep(pacing.next())
                msg_id = f"{run}-{n}-{i}"
                out["ids"].append(msg_id)
                text = texts[i % len(texts)]
                t0 = time.perf_counter()
                await ws.send(json.dumps({"type": "message", "text": text, "client_msg_id": msg_id}))
                while True:
                    ev = json.loads(await asyncio.wait_for(ws.recv(), timeout))
                    note(ev)
                    if ev["type"] == "error":
                        out["rate_limited" if ev.get("code") == "rate_limited" else "errors"] += 1
                        break
                    if ev["type"] == "typing" and ev.get("on") is False and ev.get("client_msg_id") == msg_id:
                        out["latencies"].append((time.perf_counter() - t0) * 1000)
                        out["by_text"].setdefault(text, []).append(out["latencies"][-1])
                        break
            deadline = time.perf_counter() + (timeout if waiting_late else 0)
            while len(answered) < len(acked) and time.perf_counter() < deadline:  # late answers still count
                try:
                    note(json.loads(await asyncio.wait_for(ws.recv(), deadline - time.perf_counter())))
                except TimeoutError:
                    break
            out["answered"] += len(answered)
    except Exception as exc:  # noqa: BLE001 - counted, the run goes on
        out["errors"] += 1
        print(f"session {n}: {type(exc).__name__}: {exc}", file=sys.stderr)


async def _rasa_session(rasa_url: str, run: str, n: int, texts: list[str], messages: int, out: dict,
                        timeout: float, client, think_ms: float = 0.0) -> None:
    sender = f"{run}-direct-{n}"
    pacing = Pacing(think_ms, n)
    await asyncio.sleep(pacing.first())
    for i in range(messages):
        if i:
            await asyncio.sleep(pacing.next())
        text = texts[i % len(texts)]
        t0 = time.perf_counter()
        try:
            async with client.post(f"{rasa_url}/webhooks/rest/webhook", timeout=aiohttp.ClientTimeout(total=timeout),
                                   json={"sender": sender, "message": text}) as r:
                r.raise_for_status()
                answer = await r.json()
            out["latencies"].append((time.perf_counter() - t0) * 1000)
            out["by_text"].setdefault(text, []).append(out["latencies"][-1])
            out["answered"] += any(isinstance(m, dict) and m.get("text") for m in answer)
        except Exception as exc:  # noqa: BLE001
            out["errors"] += 1
            print(f"direct {n}: {type(exc).__name__}: {exc}", file=sys.stderr)


def _stored(db_url: str, ids: list[str]) -> int | None:
    """How many of the sent messages the store holds as customer turns."""
    from sqlalchemy import func, select

    from core.store.db import Database
    from core.store.models import Turn

    try:
        db = Database(db_url)
        with db.session() as s:
            total = 0
            for i in range(0, len(ids), 500):
                total += s.execute(select(func.count()).select_from(Turn)
                                   .where(Turn.client_msg_id.in_(ids[i:i + 500]))).scalar_one()
        db.dispose()
        return total
    except Exception as exc:  # noqa: BLE001 - reported as null
        print(f"could not count stored turns in {db_url}: {exc}", file=sys.stderr)
        return None


def _client(sessions: int) -> aiohttp.ClientSession:
    """The load generator's HTTP/WebSocket client, the same library for both paths (it shares their cores)."""
    return aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=sessions + 5))


async def _ours(ws_url: str, run: str, sessions: int, messages: int, texts: list[str], timeout: float,
                think_ms: float, out: dict) -> float:
    """One round through the bot service; returns its wall time (from the moment every session is connected)."""
    start = asyncio.Event()
    async with _client(sessions) as http:
        tasks = [asyncio.ensure_future(_widget_session(ws_url, run, n, texts, messages, start, out, timeout, http,
                                                       think_ms)) for n in range(sessions)]
        await asyncio.sleep(0.5 + sessions * 0.02)  # let every session connect before the clock starts
        t0 = time.perf_counter()
        start.set()
        await asyncio.gather(*tasks)
        return time.perf_counter() - t0


async def _direct(rasa_url: str, run: str, sessions: int, messages: int, texts: list[str], timeout: float,
                  think_ms: float, out: dict) -> float:
    """The same round straight to Rasa's REST channel; returns its wall time."""
    async with _client(sessions) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*[_rasa_session(rasa_url.rstrip("/"), run, n, texts, messages, out, timeout, client,
                                             think_ms) for n in range(sessions)])
        return time.perf_counter() - t0


async def run_bench(url: str, sessions: int, messages: int, texts: list[str], rasa_url: str | None,
                    db_url: str | None, timeout: float, think_ms: float = 0.0, rounds: int = 1) -> dict:
    """`rounds` rounds of the load through the bot service and, when `rasa_url` is given, straight to Rasa.

    With Rasa, the order alternates (ours then direct, direct then ours, ...), so neither path is
    always the one that meets a colder or a larger Rasa; latencies are pooled over the rounds.
    """
    ws_url = url.replace("https://", "wss://").replace("http://", "ws://").rstrip("/") + "/ws"
    out = {"ids": [], "latencies": [], "answered": 0, "errors": 0, "rate_limited": 0, "notices": 0, "by_text": {}}
    direct = {"latencies": [], "answered": 0, "errors": 0, "by_text": {}}
    wall = direct_wall = cpu = direct_cpu = 0.0
    print(f"bench chat: {rounds} round(s) of {sessions} sessions x {messages} messages via {ws_url}, "
          f"think {think_ms:g} ms", file=sys.stderr)
    for r in range(rounds):
        run = f"bench-{uuid.uuid4().hex[:8]}"
        for path in (("ours", "direct") if r % 2 == 0 else ("direct", "ours")):
            c0 = cpu_s()
            if path == "ours":
                wall += await _ours(ws_url, run, sessions, messages, texts, timeout, think_ms, out)
                cpu += cpu_s() - c0
            elif rasa_url:
                print(f"bench chat: round {r + 1}, the same load straight to Rasa at {rasa_url}", file=sys.stderr)
                direct_wall += await _direct(rasa_url, run, sessions, messages, texts, timeout, think_ms, direct)
                direct_cpu += cpu_s() - c0
    result = {"sessions": sessions, "think_ms": think_ms, "rounds": rounds, "sent": len(out["ids"]),
              "answered": out["answered"], "stored": _stored(db_url, out["ids"]) if db_url else None,
              "errors": out["errors"], "rate_limited": out["rate_limited"], "slow_notices": out["notices"],
              **summary(out["latencies"]),
              "throughput_msg_s": round(len(out["latencies"]) / wall, 1) if wall > 0 else None,
              "client_cpu_ms_per_message": round(cpu * 1000 / len(out["ids"]), 2) if out["ids"] else None,
              "texts": texts, "url": url,
              "by_text": {t: summary(v) for t, v in out["by_text"].items()} if len(texts) > 1 else None}
    if rasa_url:
        result["rasa_direct"] = {"answered": direct["answered"], "errors": direct["errors"],
                                 **summary(direct["latencies"]),
                                 "throughput_msg_s": round(len(direct["latencies"]) / direct_wall, 1)
                                 if direct_wall > 0 else None,
                                 "client_cpu_ms_per_message": round(direct_cpu * 1000 / len(direct["latencies"]), 2)
                                 if direct["latencies"] else None,
                                 "by_text": {t: summary(v) for t, v in direct["by_text"].items()}
                                 if len(texts) > 1 else None}
        for q in ("p50_ms", "p95_ms"):
            ours, theirs = result[q], result["rasa_direct"][q]
            result[f"overhead_{q[:3]}"] = round(ours / theirs - 1, 3) if ours and theirs else None
    return result


@click.command(name="chat")
@click.option("--sessions", "-n", type=int, default=1, show_default=True, help="Concurrent WebSocket sessions.")
@click.option("--messages", "-m", type=int, default=10, show_default=True, help="Messages each session sends.")
@click.option("--url", default=None, help="Bot service to drive (default: this machine's, from SUPPORTBOT_HOST/PORT).")
@click.option("--text", "texts", multiple=True, help="Message(s) to send, cycled; default: hello, goodbye "
              "(answered by rules in the demo bot).")
@click.option("--rasa-url", default=None, help="Rasa server for the direct comparison (default SUPPORTBOT_RASA_URL).")
@click.option("--no-rasa", is_flag=True, help="Skip the direct-to-Rasa comparison.")
@click.option("--db-url", default=None, help="Store to count stored messages in (default: the configured one).")
@click.option("--think-ms", type=float, default=2000.0, show_default=True,
              help="Mean pause between an answer and the session's next message (0: back to back, a saturation test).")
@click.option("--rounds", type=click.IntRange(min=1), default=1, show_default=True,
              help="Rounds of the load; with Rasa the order alternates (ours/direct, direct/ours) and latencies "
                   "are pooled, so drift between the two paths evens out.")
@click.option("--timeout", type=float, default=30.0, show_default=True, help="Seconds to wait for one answer.")
def bench_chat(sessions: int, messages: int, url, texts, rasa_url, no_rasa: bool, db_url, think_ms: float,
               rounds: int, timeout: float) -> None:
    """Drive real WebSocket sessions through the bot service; print one JSON object.

    Keys: sessions, sent, answered, stored, errors, p50_ms, p95_ms, p99_ms (+ rasa_direct and the
    overhead ratios). Run the service with its rate limits raised for large N, e.g.
    SUPPORTBOT_SESSION_RATE_PER_MINUTE=0 SUPPORTBOT_IP_RATE_PER_MINUTE=0 SUPPORTBOT_WS_MAX_SOCKETS_PER_IP=0
    (every session of the bench comes from one address).
    """
    from core.settings import get_settings

    settings = get_settings()
    url = url or settings.public_url or f"http://{settings.host}:{settings.port}"
    result = asyncio.run(run_bench(url, sessions, messages, list(texts) or ["hello", "goodbye"],
                                   None if no_rasa else (rasa_url or settings.rasa_url),
                                   db_url or settings.db_url, timeout, think_ms, rounds))
    click.echo(json.dumps(result))
