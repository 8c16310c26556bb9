"""What agents do to a conversation: take over, write to the customer, hand back, close, correct.

Each action has one handler served at two paths: under /console (the pages' forms, answered with
a redirect back) and under /api/console (the console's script and API clients, answered with
JSON). Both need a login and the session's CSRF token.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Agent
from bot.console.auth import admin_required, agent_required
from bot.console.context import console_of
from bot.console.corrections import add_correction, mark_reviewed
from bot.console.errors import BadRequest, ConsoleRoute, is_api
from bot.console.views import jsonable

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md
MAX_BODY = 64 * 1024


def both(path: str):
    """Register a POST handler under /console<path> and /api/console<path>."""
    def register(fn):
        router.add_api_route("/console" + path, fn, methods=["POST"])
        router.add_api_route("/api/console" + path, fn, methods=["POST"])
        return fn
    return register


async def fields(request: Request) -> dict[str, Any]:
    """The request's fields, from a JSON object or a form; malformed bodies get a clear 422."""
    if "application/json" in request.headers.get("content-type", ""):
        raw = await request.body()
        if len(raw) > MAX_BODY:
            raise BadRequest(f"The request body is limited to {MAX_BODY // 1024} KiB.")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise BadRequest("The request body is not valid JSON; send an object such as {\"text\": \"…\"}.") from None
        if not isinstance(data, dict):
            raise BadRequest("Send a JSON object.")
        return data
    return {k: v for k, v in (await request.form()).items() if isinstance(v, str)}


def done(request: Request, payload: dict, back: str):
    if is_api(request):
        return JSONResponse(jsonable(payload))
    return RedirectResponse(back, status_code=303)


def transcript_url(conversation_id: str, anchor: str = "") -> str:
    return f"/console/conversations/{quote(conversation_id, safe='')}" + (f"#{anchor}" if anchor else "")


def lifecycle_step(step: str, method: str) -> None:
    """Take over (claim), hand back, close: the same handler around one Handoff method."""
    async def handler(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
        result = await getattr(console_of(request).handoff, method)(conversation_id, agent)
        return done(request, result, transcript_url(conversation_id))

    handler.__name__ = f"{method}_conversation"
    both(f"/conversations/{{conversation_id}}/{step}")(handler)


for _step, _method in (("claim", "claim"), ("handback", "hand_back"), ("close", "close")):
    lifecycle_step(_step, _method)


@both("/conversations/{conversation_id}/messages")
async def send_message(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
    text = str((await fields(request)).get("text", ""))
    turn = await console_of(request).handoff.agent_message(conversation_id, agent, text)
    return done(request, turn, transcript_url(conversation_id, "composer"))


@both("/turns/{turn_id}/corrections")
async def correct(turn_id: int, request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    f = await fields(request)
    kind = str(f.get("kind", ""))
    value = str(f.get("value") or f.get("candidate") or "")
    result = await run_in_threadpool(add_correction, console.db, turn_id, kind, value, agent.id,
                                     console.settings.max_message_chars)
    return done(request, result, _back(f, transcript_url(result["conversation_id"], f"turn-{turn_id}")))


@both("/turns/{turn_id}/review")
async def review(turn_id: int, request: Request, agent: Agent = Depends(admin_required)):
    f = await fields(request)
    conversation_id = await run_in_threadpool(mark_reviewed, console_of(request).db, turn_id, agent.id)
    return done(request, {"turn_id": turn_id, "reviewed": True}, _back(f, transcript_url(conversation_id)))


def _back(f: dict, default: str) -> str:
    target = str(f.get("next", ""))
    return target if target.startswith("/console/") and not target.startswith("//") else default
