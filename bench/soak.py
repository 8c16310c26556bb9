"""`supportbot bench soak`: the whole platform for minutes, with faults, counting what was lost.

Starts a throwaway PostgreSQL cluster and Redis server (bot/throwaway.py), the processes `supportbot up`
starts (two action servers on one port, two Rasa servers with a Redis lock store; bot/processes.py) and
`--replicas` bot-service replicas on one Redis hub, supervised as `supportbot up` does
(bot/supervisor.py), behind a round-robin front (bench/front.py). N paced widget sessions then talk
to it through the front (rule, knowledge-base and form messages; every `--handoff-every`-th session asks
for a person once, answered by a scripted agent over the console API), each behaving like the widget:
it resends an unfinished message with the same `client_msg_id` after an error with `retry` or a lost
connection, reconnecting with jittered back-off. With `--chaos` it SIGKILLs one bot replica, one Rasa
server and one action server at seeded random moments and restarts PostgreSQL once.

Prints one JSON object (progress on stderr): sent, acknowledged, stored, answered, agent_messages,
duplicates (a message stored twice, or one message's answer delivered as two bot turns of the same
text), lost (acknowledged but not stored, or stored but neither answered nor marked unanswered),
reconnects, p50_ms/p95_ms (send to end of answer, messages outside the fault windows), memory_mb (each
process group's RSS at start, minute 2 and end) and memory_growth_pct (minute 2 to end, for processes that
were not restarted since minute 2; a restarted one is a new process and is left out, null).

Each fault in `faults` has two times, both counted from the SIGKILL (for PostgreSQL: from the start of
its restart):
- `recovered_s` (service restored): until the platform answers customers normally again, seen from
  outside: probe customers, each a new widget session through the front, ask a knowledge-base question
  (bot service, Rasa and the action server all take part) one after another; recovered at the end of the
  first normal answer (a bot message, no notice, no error) of three in a row. For a bot replica also the
  customers it dropped: until the last of them got its history again from another replica. The longest
  is `longest_recovery_s` (null when a fault never recovered within `--recovery-limit-s`).
- `restart_s`: until the killed process itself is back (the supervisor's back-off, start-up and model
  load, until its own health check answers: on a shared port, from its own pid). The longest is
  `longest_restart_s`. With two processes of each kind, this is far longer than `recovered_s`.
`longest_reconnect_s`: any customer's connection lost to its history received again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import tempfile
import threading
import time
import uuid
from pathlib import Path

import click

from bench.chat import percentile
from bench.front import Front, free_port, free_ports_in_a_row
from bench.soak_faults import chaos, longest, probe, say

SCRIPT = ["hello", "How long until my new card gets here?", "what are your opening hours?", "I lost my card",
          "it ends with 9931", "yes", "thanks, that's all"]
AGENT, PASSWORD = "soak-agent", "soak agent password 1234"


def group_rss_mb(pgid: int) -> float:
    """Resident memory of every process in one process group (a service and its workers), in MB."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # field 5 of stat: the process group
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE")  # field 24: rss in pages
        except (OSError, IndexError, ValueError):
            continue
    return round(total / 1e6, 1)


class Tally:
    def __init__(self):
        self.sent: dict[str, dict] = {}  # client_msg_id -> record
        self.reconnects = 0
        self.longest_reconnect_s = 0.0  # a customer's connection lost -> history received again
        self.back: list[tuple[float, float]] = []  # (connection lost, history received again), monotonic
        self.agent_messages: set[int] = set()
        self.replies: dict[tuple, set] = {}  # (customer turn, bot text) -> bot turn ids delivered for it
        self.errors = 0
        self.faults: list[dict] = []


async def session(n: int, ws_url: str, deadline: float, think_s: float, handoff: bool, tally: Tally,
                  http) -> None:
    import aiohttp

    rng = random.Random(n)
    token, backoff, step, asked_person = None, 0.5, 0, False
    unfinished: list[dict] = []
    lost_at = None
    await asyncio.sleep(rng.uniform(0, think_s))
    give_up = deadline + 120  # an unfinished message gets two more minutes to go through, then counts as is
    while (time.monotonic() < deadline or unfinished) and time.monotonic() < give_up:
        try:
            async with http.ws_connect(ws_url, max_msg_size=1 << 20, heartbeat=20) as ws:
                await ws.send_json({"type": "hello", "token": token})
                while True:
                    ev = await asyncio.wait_for(ws.receive_json(), 30)
                    if ev["type"] == "session":
                        token = ev.get("token") or token
                    elif ev["type"] == "history":
                        tally.agent_messages.update(t["turn_id"] for t in ev["turns"] if t["speaker"] == "agent")
                        break
                if lost_at is not None:
                    tally.longest_reconnect_s = max(tally.longest_reconnect_s, time.monotonic() - lost_at)
                    tally.back.append((lost_at, time.monotonic()))
                    lost_at = None
                backoff = 0.5
                while True:
                    if not unfinished:
                        if time.monotonic() >= deadline:
                            return
                        if handoff and not asked_person and step == 2:
                            asked_person = True
                            await ws.send_json({"type": "handoff"})
                            await _until_handed_back(ws, tally)
                        text = SCRIPT[step % len(SCRIPT)]
                        step += 1
                        rec = {"id": f"s{n}-{step}-{uuid.uuid4().hex[:6]}", "text": text, "t0": time.monotonic(),
                               "acked": False, "done": None}
                        tally.sent[rec["id"]] = rec
                        unfinished.append(rec)
                    rec = unfinished[0]
                    await ws.send_json({"type": "message", "text": rec["text"], "client_msg_id": rec["id"]})
                    if await _answer(ws, rec, tally, unfinished):
                        unfinished.remove(rec)
                        await asyncio.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))
        except (TimeoutError, aiohttp.ClientError, ConnectionError, TypeError, ValueError) as exc:
            tally.reconnects += 1
            lost_at = lost_at or time.monotonic()
            say(f"session {n}: connection lost ({type(exc).__name__}); reconnecting")
            await asyncio.sleep(backoff * rng.uniform(0.5, 1.5))
            backoff = min(backoff * 2, 15)


async def _answer(ws, rec: dict, tally: Tally, unfinished: list[dict]) -> bool:
    """Events until this message's answer is over (True), or an error saying to send it again (False).

    As in the widget, an error with `retry` for an earlier message (its answer could not be stored after
    the end of its typing) puts that message back to be sent again."""
    while True:
        ev = await asyncio.wait_for(ws.receive_json(), 60)
        kind = ev.get("type")
        earlier = tally.sent.get(ev.get("client_msg_id") or "")
        if kind == "error" and ev.get("retry") and earlier is not None and earlier is not rec \
                and earlier not in unfinished:
            earlier["done"] = None
            unfinished.insert(0, earlier)
            continue
        if kind == "ack" and ev.get("client_msg_id") == rec["id"]:
            rec["acked"] = True
        elif kind == "message" and ev.get("speaker") == "agent":
            tally.agent_messages.add(ev["turn_id"])
        elif kind == "message" and ev.get("speaker") == "bot" and ev.get("reply_to") is not None:
            tally.replies.setdefault((ev["reply_to"], ev.get("text")), set()).add(ev.get("turn_id"))
        elif kind == "error" and ev.get("client_msg_id") == rec["id"]:
            if ev.get("retry"):
                await asyncio.sleep(max(1.0, ev.get("retry_after_s") or 1.0))
                return False
            tally.errors += 1
            rec["done"] = time.monotonic()
            return True
        elif kind == "typing" and ev.get("on") is False and ev.get("client_msg_id") == rec["id"]:
            rec["done"] = time.monotonic()
            return True


async def _until_handed_back(ws, tally: Tally, timeout: float = 90) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ev = await asyncio.wait_for(ws.receive_json(), end - time.monotonic())
        if ev.get("type") == "message" and ev.get("speaker") == "agent":
            tally.agent_messages.add(ev["turn_id"])
        if ev.get("type") == "agent_left":
            return


async def scripted_agent(url: str, stop: asyncio.Event, counts: dict) -> None:
    """An agent polling the handoff queue: takes each waiting conversation, answers it, hands it back."""
    import re

    import httpx

    client = None
    while not stop.is_set():
        try:
            if client is None:
                client = httpx.AsyncClient(base_url=url, timeout=20)
                page = await client.get("/console/login")
                token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
                await client.post("/console/login", data={"username": AGENT, "password": PASSWORD, "csrf_token": token})
                page = await client.get("/console/conversations")
                client.headers["X-CSRF-Token"] = re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)
            queue = (await client.get("/api/console/queue")).raise_for_status().json()
            for conv in queue["waiting"] + queue["mine"]:
                base = f"/api/console/conversations/{conv['id']}"
                if conv["status"] == "waiting":
                    (await client.post(f"{base}/claim")).raise_for_status()
                r = await client.post(f"{base}/messages", json={"text": "Hello, this is Sam from support; sorted."})
                r.raise_for_status()
                counts["sent"] += 1
                (await client.post(f"{base}/handback")).raise_for_status()
        except (httpx.HTTPError, AttributeError, KeyError) as exc:
            say(f"agent: {type(exc).__name__}: {str(exc)[:120]}; retrying")
            if client is not None:
                await client.aclose()
            client = None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 1.0)
    if client is not None:
        await client.aclose()


def supervise(supervisor, stop: threading.Event) -> None:
    while not stop.is_set():
        supervisor.check()
        stop.wait(0.25)


def store_counts(db_url: str, ids: list[str]) -> dict:
    """What the store holds for the sent messages: stored, answered, duplicates, never settled."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT conversation_id, seq, speaker, text, client_msg_id, answered FROM turns "
                                 "ORDER BY conversation_id, seq")).all()
    engine.dispose()
    wanted, seen, answered, unsettled = set(ids), {}, 0, []
    for r in rows:
        if r.speaker == "customer" and r.client_msg_id in wanted:
            seen[r.client_msg_id] = seen.get(r.client_msg_id, 0) + 1
            answered += r.answered is True
            if r.answered is None:
                unsettled.append(f"{r.client_msg_id}: {r.text}")
    doubled = [f"{i}: stored x{c}" for i, c in seen.items() if c > 1]
    return {"stored": len(seen), "answered": answered, "duplicates": sum(c - 1 for c in seen.values()),
            "unsettled": unsettled, "doubled": doubled, "stored_ids": set(seen)}


def growth_pct(memory: dict, restarted_after: dict) -> dict:
    """Minute 2 to end, per process; None for one restarted since minute 2 (a new process) or not sampled."""
    out = {}
    for name, m in memory.items():
        a, b = m.get("minute_2"), m.get("end")
        out[name] = None if not a or not b or restarted_after.get(name) else round(100.0 * (b - a) / a, 1)
    return out


async def run_soak(settings, sessions: int, minutes: float, replicas: int, with_chaos: bool, think_ms: float,
                   handoff_every: int, seed: int, recovery_limit_s: float = 180.0) -> dict:
    import aiohttp

    from bot.console.accounts import Accounts
    from bot.processes import Service, platform_services, stop_all, wait_healthy
    from bot.supervisor import Supervisor
    from bot.throwaway import PgCluster, RedisServer
    from core.store.db import Database

    tmp = Path(tempfile.mkdtemp(prefix="supportbot-soak-"))
    pg = PgCluster(free_port()).init()
    pg.start()
    redis = RedisServer(free_port(), tmp)
    redis.start()
    services: list = []
    stop_supervising = threading.Event()  # set before the processes are stopped, or the supervisor restarts them
    watcher: threading.Thread | None = None
    try:
        db_url = pg.create_database("supportbot")
        ports = [free_port() for _ in range(replicas)]
        s = settings.model_copy(update={
            "database_url": db_url, "rasa_tracker_url": "", "rasa_lock_store_url": redis.url(1),
            "hub_url": redis.url(2), "port": ports[0], "rasa_port": free_ports_in_a_row(settings.rasa_processes),
            "action_port": free_port()})
        db = Database(db_url)
        db.migrate()
        Accounts(db).add(AGENT, PASSWORD, "agent", "Sam Soak")
        db.dispose()
        env = {"SUPPORTBOT_HUB_URL": s.hub_url, "SUPPORTBOT_CONSOLE_SECRET_KEY": uuid.uuid4().hex,
               "SUPPORTBOT_LOG_LEVEL": "WARNING", "SUPPORTBOT_SESSION_RATE_PER_MINUTE": "600",
               "SUPPORTBOT_IP_RATE_PER_MINUTE": "100000", "SUPPORTBOT_IP_RATE_BURST": "10000",
               # every session and probe comes from 127.0.0.1: one replica may hold them all after a fault
               "SUPPORTBOT_WS_MAX_SOCKETS_PER_IP": str(2 * sessions + 50)}
        *others, bot = platform_services(s, env=env)
        actions = [svc for svc in others if svc.name.startswith("actions")]
        rasas = [svc for svc in others if svc.name.startswith("rasa")]
        bots = [bot] + [Service(f"bot-{i}", bot.cmd, f"http://127.0.0.1:{p}/healthz", {**bot.env, "SUPPORTBOT_PORT": str(p)})
                        for i, p in enumerate(ports[1:], start=1)]
        services = [*actions, *rasas, *bots]
        say(f"starting {len(services)} processes (logs in {tmp / 'logs'})")
        for svc in services:
            svc.start(tmp / "logs")
        await asyncio.to_thread(wait_healthy, services, 300.0, say)
        supervisor = Supervisor(services, tmp / "logs", tmp / "up.json", say, max_restarts=50, window_s=60,
                                max_backoff_s=2.0)
        watcher = threading.Thread(target=supervise, args=(supervisor, stop_supervising), daemon=True)
        watcher.start()
        front = Front([int(b.health_url.rsplit(":", 1)[1].split("/")[0]) for b in bots])
        await front.start()
        memory = {svc.name: {"start": group_rss_mb(svc.proc.pid)} for svc in services}

        tally, rng = Tally(), random.Random(seed)
        duration = minutes * 60
        t0, t0_wall = time.monotonic(), time.time()
        deadline = t0 + duration
        faults = sorted((rng.uniform(0.15, 0.85) * duration, kind)
                        for kind in ("bot", "rasa", "actions", "postgres")) if with_chaos else []
        targets = {"bot": bots, "rasa": rasas, "actions": actions}
        stop_agent, agent_counts = asyncio.Event(), {"sent": 0}
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as http:
            agent = asyncio.ensure_future(scripted_agent(front.url, stop_agent, agent_counts))
            ws_url = front.url.replace("http", "ws") + "/ws"
            monkey = asyncio.ensure_future(chaos(faults, t0, targets, pg, tally, rng,
                                                 lambda n: probe(ws_url, http, n), recovery_limit_s))
            mem2 = asyncio.ensure_future(_sample_at(t0 + 120, services, memory, "minute_2")) if minutes > 2 else None
            await asyncio.gather(*[session(n, ws_url, deadline, think_ms / 1000, handoff_every > 0 and
                                           n % handoff_every == 0, tally, http) for n in range(sessions)])
            await monkey
            stop_agent.set()
            await agent
            if mem2 is not None:
                mem2.cancel()
        for svc in services:
            memory[svc.name]["end"] = group_rss_mb(svc.proc.pid) if svc.alive() else None
        minute_2 = t0_wall + 120  # the supervisor records restarts in wall-clock time
        restarted_after = {c.svc.name: c.last_restart is not None and c.last_restart > minute_2
                           for c in supervisor.children}
        stop_supervising.set()
        watcher.join()
        await front.close()

        counts = await asyncio.to_thread(store_counts, db_url, list(tally.sent))
        acked = {i for i, r in tally.sent.items() if r["acked"]}
        windows = [(t0 + f["at_s"], t0 + f["at_s"] + (f["recovered_s"] or recovery_limit_s) + 1.0)
                   for f in tally.faults]
        calm = [(r["done"] - r["t0"]) * 1000 for r in tally.sent.values() if r["done"] is not None and not any(
            a <= r["done"] and r["t0"] <= b for a, b in windows)]
        lost = len(acked - counts["stored_ids"]) + len(counts["unsettled"])
        # an answer doubled: one customer turn got the same reply text as two different bot turns
        doubled = {k: v for k, v in tally.replies.items() if len(v) > 1}
        counts["duplicates"] += sum(len(v) - 1 for v in doubled.values())
        counts["doubled"] += [f"turn {k[0]} -> {str(k[1])[:60]!r} x{len(v)}" for k, v in doubled.items()]
        return {
            "sessions": sessions, "minutes": minutes, "replicas": replicas, "chaos": with_chaos,
            "sent": len(tally.sent), "acknowledged": len(acked), "stored": counts["stored"],
            "answered": counts["answered"], "agent_messages": len(tally.agent_messages),
            "agent_messages_sent": agent_counts["sent"], "duplicates": counts["duplicates"], "lost": lost,
            "reconnects": tally.reconnects, "errors": tally.errors,
            "longest_recovery_s": longest(tally.faults, "recovered_s"),
            "longest_restart_s": longest(tally.faults, "restart_s"),
            "longest_reconnect_s": round(tally.longest_reconnect_s, 2),
            "faults": tally.faults, "p50_ms": percentile(calm, 50), "p95_ms": percentile(calm, 95),
            "memory_mb": memory, "memory_growth_pct": growth_pct(memory, restarted_after), "restarts": {c.svc.name: c.restarts for c in supervisor.children},
            "examples": {"lost": counts["unsettled"][:5], "duplicates": counts["doubled"][:5]},
        }
    finally:
        stop_supervising.set()
        if watcher is not None:
            watcher.join()
        stop_all(services)
        redis.stop()
        pg.remove()


async def _sample_at(when: float, services, memory: dict, key: str) -> None:
    await asyncio.sleep(max(0.0, when - time.monotonic()))
    for svc in services:
        memory[svc.name][key] = group_rss_mb(svc.proc.pid) if svc.alive() else None


@click.command("soak")
@click.option("--sessions", type=int, default=20, show_default=True, help="Widget sessions talking at once.")
@click.option("--minutes", type=float, default=2.0, show_default=True, help="How long they talk.")
@click.option("--replicas", type=int, default=2, show_default=True, help="Bot-service replicas behind the front.")
@click.option("--chaos", "with_chaos", is_flag=True,
              help="SIGKILL a bot replica, a Rasa server and an action server at random moments; restart PostgreSQL once.")
@click.option("--think-ms", type=float, default=4000.0, show_default=True,
              help="A customer's pause between an answer and the next message (0.5x to 1.5x, seeded).")
@click.option("--handoff-every", type=int, default=5, show_default=True,
              help="Every n-th session asks for a person once (0: none).")
@click.option("--seed", type=int, default=7, show_default=True)
@click.option("--recovery-limit-s", type=float, default=180.0, show_default=True,
              help="How long a fault may take to recover before it counts as never recovered (null).")
def bench_soak(sessions, minutes, replicas, with_chaos, think_ms, handoff_every, seed, recovery_limit_s) -> None:
    """Run the platform for minutes with paced sessions (and faults); print one JSON object."""
    from core.settings import get_settings

    if replicas < 1 or sessions < 1 or minutes <= 0:
        raise click.BadParameter("--sessions and --replicas must be at least 1, --minutes above 0")
    try:
        result = asyncio.run(run_soak(get_settings(), sessions, minutes, replicas, with_chaos, think_ms,
                                      handoff_every, seed, recovery_limit_s))
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(json.dumps(result))
