"""The faults of `supportbot bench soak --chaos` and how long the platform takes to get over each.

`chaos` SIGKILLs one process of a kind (or restarts PostgreSQL) at each planned moment and measures two
times from it (definitions in bench/soak.py's docstring, the JSON's `faults`): `recovered_s`, until probe
customers through the front are answered normally PROBES_IN_A_ROW times in a row (for a bot replica, also
until the customers it dropped have their history again), and `restart_s`, until the killed process is
back and answers its own health check. Probes are new widget sessions (so new conversations, spread
over the Rasa servers) asking a knowledge-base question, which takes the bot service, Rasa and an action
server; they are not counted in the soak's own messages.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import uuid

PROBE = "what are your opening hours?"  # a knowledge-base answer: the bot service, Rasa and an action server
PROBES_IN_A_ROW = 3


def say(msg: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


async def probe(ws_url: str, http, n: int) -> tuple[str, float]:
    """One new customer asks PROBE: ("ok" when answered normally, else why not; when the answer ended)."""
    import aiohttp

    msg_id = f"probe-{n}-{uuid.uuid4().hex[:6]}"
    normal = False
    try:
        async with http.ws_connect(ws_url, max_msg_size=1 << 20) as ws:
            await ws.send_json({"type": "hello", "token": None})
            while (await asyncio.wait_for(ws.receive_json(), 10))["type"] != "history":
                pass
            await ws.send_json({"type": "message", "text": PROBE, "client_msg_id": msg_id})
            while True:
                ev = await asyncio.wait_for(ws.receive_json(), 20)
                if ev.get("type") == "message" and ev.get("notice"):
                    return f"notice {ev['notice']}", time.monotonic()
                if ev.get("type") == "message" and ev.get("speaker") == "bot" and ev.get("reply_to") is not None:
                    normal = True
                if ev.get("type") == "error" and ev.get("client_msg_id") == msg_id:
                    return f"error {ev.get('code')}", time.monotonic()
                if ev.get("type") == "typing" and ev.get("on") is False and ev.get("client_msg_id") == msg_id:
                    return "ok" if normal else "no answer", time.monotonic()
    except TimeoutError:
        return "timeout", time.monotonic()
    except (aiohttp.ClientError, ConnectionError, TypeError, ValueError) as exc:
        return f"connection {type(exc).__name__}", time.monotonic()


async def until_answering(ask, limit_s: float, failed: dict) -> float | None:
    """Probes one after another until PROBES_IN_A_ROW answer normally in a row: the end of the first of them
    (monotonic), or None after `limit_s`. `failed` counts the other outcomes."""
    deadline, first_ok, in_a_row, n = time.monotonic() + limit_s, None, 0, 0
    while time.monotonic() < deadline:
        n += 1
        outcome, ended = await ask(n)
        if outcome == "ok":
            first_ok = first_ok or ended
            in_a_row += 1
            if in_a_row >= PROBES_IN_A_ROW:
                return first_ok
        else:
            failed[outcome] = failed.get(outcome, 0) + 1
            first_ok, in_a_row = None, 0
            await asyncio.sleep(0.1)
    return None


async def until_restarted(svc, old_pid: int, limit_s: float) -> float | None:
    """Until the supervisor started `svc` again and the new process answers its own health check."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        proc = svc.proc
        if proc is not None and proc.pid != old_pid and svc.alive() and await asyncio.to_thread(svc.healthy):
            return time.monotonic()
        await asyncio.sleep(0.2)
    return None


async def until_reconnected(tally, since: float, limit_s: float = 60.0) -> float:
    """`tally.back` holds (connection lost, history received again) of every reconnection. The customers a killed replica dropped (connection lost within 2 s of `since`): until the last one
    has its history again."""
    await asyncio.sleep(2.0)
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        back = [b for lost, b in tally.back if since <= lost <= since + 2.0]
        if back and max(back) < time.monotonic() - 3.0:  # none came back in the last 3 s: that was all
            return max(back)
        await asyncio.sleep(0.5)
    return max((b for lost, b in tally.back if since <= lost <= since + 2.0), default=since)


async def chaos(faults: list[tuple[float, str]], t0: float, targets: dict, pg, tally, rng, ask,
                limit_s: float) -> None:
    def restart_pg() -> float:
        pg.stop()
        pg.start()  # pg_ctl -w: returns when it accepts connections
        return time.monotonic()

    for at, kind in faults:
        await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
        started = time.monotonic()
        fault: dict = {"kind": kind, "at_s": round(started - t0, 1)}
        if kind == "postgres":
            say("chaos: restarting PostgreSQL")
            restarted = asyncio.ensure_future(asyncio.to_thread(restart_pg))
        else:
            svc = rng.choice(targets[kind])
            old_pid = svc.proc.pid
            fault["process"] = svc.name
            say(f"chaos: SIGKILL {svc.name} (pid {old_pid})")
            os.kill(old_pid, signal.SIGKILL)
            restarted = asyncio.ensure_future(until_restarted(svc, old_pid, limit_s))
        fault["failed_probes"] = {}
        restored = await until_answering(ask, limit_s, fault["failed_probes"])
        if restored is not None and kind == "bot":
            restored = max(restored, await until_reconnected(tally, started))
        done = await restarted
        fault["recovered_s"] = round(restored - started, 2) if restored is not None else None
        fault["restart_s"] = round(done - started, 2) if done is not None else None
        tally.faults.append(fault)
        say(f"chaos: {kind} service restored in {fault['recovered_s']} s, process back in {fault['restart_s']} s")


def longest(faults: list[dict], key: str) -> float | None:
    """The longest time of the faults; None when there were none or one never came back."""
    values = [f[key] for f in faults]
    return None if not values or None in values else max(values)
