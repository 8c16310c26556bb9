"""`supportbot bench kb-profile`: where one KB answer's time and CPU go, stage by stage.

Against a running stack (`supportbot up`), for one KB question sent `--repeat` times:

| stage | measured as |
|---|---|
| `rasa_nlu` | Rasa's `/model/parse` (tokenizer, ONNX featurizer, count vectors, classifier) |
| `rasa_turn` | Rasa's REST channel for the whole turn (NLU, policies, the action call, the action) |
| `action_webhook` | the action server's `/webhook` with the request Rasa sends it (tracker as Rasa serialises it) |
| `action_steps.*` | the action's own steps, run in this process on the same code: vector from the parse data, KB search, the response selector (context encode, bank search, whole `select`) when a model serves, excerpt, payload |
| `policies_and_call` | `rasa_turn` − `rasa_nlu` − `action_webhook`: policies, tracker (de)serialisation, the HTTP call |
| `bot_service` | the widget WebSocket round trip − `rasa_turn`: what the bot service adds |

Wall milliseconds are medians; CPU milliseconds per request are read from `/proc/<pid>/stat` of the
Rasa, action-server and bot-service processes (found by the ports they listen on), so they stay
meaningful on a shared machine. Also reports the bytes of the request Rasa sends the action server
(with and without the domain, and the embedding's share). Prints one JSON object.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import click
import httpx


def pids_on_port(port: int) -> list[int]:
    """The processes holding the listening socket of 127.0.0.1:`port` (several with SO_REUSEPORT)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:  # LISTEN
                inodes.add(fields[9])
    wanted = {f"socket:[{i}]" for i in inodes}
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if any(os.readlink(fd) in wanted for fd in (entry / "fd").iterdir()):
                pids.append(int(entry.name))
        except OSError:
            continue
    return sorted(pids)


def cpu_ms(pids: list[int]) -> float:
    """User + system CPU of `pids` (all their threads) so far, in ms."""
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")
    return total


class Stage:
    def __init__(self):
        self.wall: list[float] = []
        self.cpu: dict[str, float] = {}

    def record(self, wall_ms: float, cpu: dict[str, float]) -> None:
        self.wall.append(wall_ms)
        for k, v in cpu.items():
            self.cpu[k] = self.cpu.get(k, 0.0) + v

    def summary(self) -> dict:
        n = max(1, len(self.wall))
        return {"wall_ms_p50": round(statistics.median(self.wall), 2) if self.wall else None,
                "cpu_ms": {k: round(v / n, 2) for k, v in self.cpu.items()}}


def measured(stage: Stage, pids: dict[str, list[int]], call) -> object:
    before = {k: cpu_ms(p) for k, p in pids.items()}
    t0 = time.perf_counter()
    result = call()
    wall = (time.perf_counter() - t0) * 1000
    stage.record(wall, {k: cpu_ms(p) - before[k] for k, p in pids.items()})
    return result


def action_steps(settings, parse_data: dict, text: str, repeat: int) -> dict:
    """The action's steps in this process, on the same code and index (wall and thread CPU, ms)."""
    from actions.answer import carried_vector
    from actions.excerpt import excerpt
    from actions.formatting import payload
    from actions.knowledge import Thresholds, Understanding, decide, find_hits
    from actions.services import ActionServices
    from finetune.pairs import format_context
    from finetune.serving import normalise_context, select_with

    services = ActionServices.from_settings(settings)
    services.warm_up()
    retriever = services.retriever
    if retriever is None:
        raise click.ClickException(f"the KB index is unavailable ({services.kb_error}); run `supportbot train`")
    understanding, thresholds = Understanding.from_message(parse_data), Thresholds.from_settings(settings)
    model = services.selector.model if services.selector is not None else None
    context = [{"speaker": "user", "text": text}]  # a first message, as conversation_context gives it
    steps: dict[str, list[tuple[float, float]]] = {}

    def timed(name, fn):
        t0, c0 = time.perf_counter(), time.thread_time()
        out = fn()
        steps.setdefault(name, []).append(((time.perf_counter() - t0) * 1000, (time.thread_time() - c0) * 1000))
        return out

    for _ in range(repeat):
        vector = timed("vector_from_parse_data", lambda: carried_vector(parse_data, retriever.encoder.fingerprint))
        if vector is None:
            vector = timed("encode_once", lambda: retriever.encode_query(text)[0])
        hits, best, guided = timed("kb_search", lambda: find_hits(retriever, understanding, services.catalog,
                                                                  thresholds, None, vector=vector))
        selection = None
        if model is not None:
            formatted = format_context(normalise_context(context), int(model.manifest.get("context_turns", 3)))
            context_vector = timed("selector_encode", lambda: model.encode([formatted]))
            timed("selector_bank_search", lambda: model.index.search(context_vector, 5))
            selection = timed("selector_total", lambda: select_with(model, context))
        decision = decide(understanding, hits, best, guided, selection, thresholds)
        article = services.catalog.article_for(decision.hit) if decision.hit else None
        if article is not None:
            timed("excerpt", lambda: excerpt(list(article.blocks), services.catalog.vectors_for(article), vector,
                                             settings.kb_answer_words))
        timed("payload", lambda: json.dumps(payload(decision, understanding, thresholds.kb_min_score,
                                                    services.model_versions())))
        timed("encode_again_for_comparison", lambda: retriever.encode_query(text))
    return {name: {"wall_ms_p50": round(statistics.median(w for w, _ in v), 3),
                   "cpu_ms": round(statistics.fmean(c for _, c in v), 3)} for name, v in steps.items()} | {
        "query_encoder": type(retriever.encoder).__name__,
        "response_model": model.version if model is not None else None,
        "response_encoder": model.runtime if model is not None else None,
        "answer_source": decision.kind}


async def widget_turn(ws_url: str, text: str) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as http, http.ws_connect(ws_url) as ws:
        await ws.send_str(json.dumps({"type": "hello"}))
        while json.loads((await ws.receive()).data)["type"] != "history":
            pass
        msg_id = uuid.uuid4().hex
        t0 = time.perf_counter()
        await ws.send_str(json.dumps({"type": "message", "text": text, "client_msg_id": msg_id}))
        while True:
            ev = json.loads((await ws.receive()).data)
            if ev["type"] == "typing" and ev.get("on") is False and ev.get("client_msg_id") == msg_id:
                return (time.perf_counter() - t0) * 1000
            if ev["type"] == "error":
                raise click.ClickException(f"the bot service refused the message: {ev}")


@click.command(name="kb-profile")
@click.option("--text", default="How do I top up my account by bank transfer?", show_default=True)
@click.option("--repeat", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--url", default=None, help="Bot service (default: this machine's).")
@click.option("--rasa-url", default=None, help="Rasa server, run with --enable-api (default SUPPORTBOT_RASA_URL).")
def kb_profile(text: str, repeat: int, url, rasa_url) -> None:
    """Profile one KB answer end to end, stage by stage (ms and CPU ms per stage); one JSON object."""
    from core.secrets import action_token, rasa_token
    from core.settings import get_settings

    settings = get_settings()
    auth = {"token": rasa_token(settings)}  # Rasa's HTTP API and the action server each take a token
    action_auth = {"token": action_token(settings)}
    url = (url or settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    rasa = (rasa_url or settings.rasa_url).rstrip("/")
    action = f"http://127.0.0.1:{settings.action_port}/webhook"
    pids = {"rasa": pids_on_port(int(rasa.rsplit(":", 1)[1])), "actions": pids_on_port(settings.action_port),
            "bot": pids_on_port(int(url.rsplit(":", 1)[1]))}
    if not all(pids.values()):
        raise click.ClickException(f"cannot find the stack's processes by their ports ({pids}); is it running "
                                   "on this machine (`supportbot up`)?")
    print(f"kb-profile: processes {pids}", file=sys.stderr)
    stages = {name: Stage() for name in ("rasa_nlu", "rasa_turn", "action_webhook", "widget_turn")}
    sizes: dict = {}
    parse_data: dict = {}
    with httpx.Client(timeout=60) as http:
        for i in range(repeat + 1):  # the first round warms up and is not recorded
            sender = f"kb-profile-{uuid.uuid4().hex[:8]}"
            target = stages if i else {k: Stage() for k in stages}
            parse_data = measured(target["rasa_nlu"], pids,
                                  lambda: http.post(f"{rasa}/model/parse", params=auth,
                                                                    json={"text": text}).raise_for_status().json())
            measured(target["rasa_turn"], pids, lambda: http.post(
                f"{rasa}/webhooks/rest/webhook", json={"sender": sender, "message": text}).raise_for_status())
            tracker = http.get(f"{rasa}/conversations/{sender}/tracker", params=auth).raise_for_status().json()
            # what RemoteAction sends for the turn's action: the tracker up to the user message
            upto = max(j for j, e in enumerate(tracker["events"]) if e.get("event") == "user")
            tracker["events"] = tracker["events"][: upto + 2]
            request = {"next_action": "action_answer_question", "sender_id": sender, "tracker": tracker,
                       "version": "3.6.21"}
            measured(target["action_webhook"], pids, lambda: http.post(action, params=action_auth, json=request).raise_for_status())
            measured(target["widget_turn"], pids, lambda: asyncio.run(widget_turn(url.replace("http", "ws", 1) + "/ws",
                                                                                  text)))
            if i == 1:
                domain = http.get(f"{rasa}/domain", params=auth, headers={"Accept": "application/json"}).raise_for_status().json()
                body = json.dumps(request)
                embedding = json.dumps(parse_data.get("supportbot_embedding"))
                sizes = {"action_request_bytes": len(body), "domain_bytes_not_sent": len(json.dumps(domain)),
                         "embedding_bytes_per_user_event": len(embedding) if "supportbot_embedding" in parse_data
                         else 0}
    out = {name: stage.summary() for name, stage in stages.items()}
    nlu, turn, hook, widget = (out[n]["wall_ms_p50"] for n in ("rasa_nlu", "rasa_turn", "action_webhook", "widget_turn"))
    out["policies_and_call"] = {"wall_ms_p50": round(turn - nlu - hook, 2)}
    out["bot_service"] = {"wall_ms_p50": round(widget - turn, 2)}
    out["action_steps"] = action_steps(settings, parse_data, text, repeat)
    click.echo(json.dumps({"text": text, "repeat": repeat, "stages": out, "request": sizes,
                           "embedding_in_parse_data": "supportbot_embedding" in parse_data,
                           "loadavg": [round(x, 2) for x in os.getloadavg()], "processes": pids}))
