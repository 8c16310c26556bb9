"""Live updates for console tabs: Server-Sent Events fed by the hub.

`GET /api/console/events?conversation=<id>` streams that conversation's events (new turns,
agent joined/left, closed); without `conversation` it streams the queue-level events of every
conversation (handoff requests, claims, closes). An open stream is also the agent's presence:
while one is open the agent counts as online for the handoff queue. Every keep-alive re-checks
the session, so a logout or a disabled account ends the stream within one interval.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Agent
from bot.console.auth import agent_required
from bot.console.context import console_of
from bot.console.errors import ConsoleRoute, LoginRequired, NotFound
from bot.hub import ALL
from core.store.models import Conversation

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md
KEEPALIVE_S = 15.0
QUEUE_EVENTS = {"handoff", "agent_joined", "agent_left", "closed"}


def _missing(db, conversation_id: str) -> bool:
    with db.session() as s:
        return s.get(Conversation, conversation_id) is None


def sse(event: dict) -> bytes:
    return f"event: {event.get('type', 'message')}\ndata: {json.dumps(event, default=str)}\n\n".encode()


@router.get("/api/console/events")
async def events(request: Request, conversation: str = "", agent: Agent = Depends(agent_required)):
    console = console_of(request)
    hub, handoff = console.services.hub, console.handoff
    if conversation and await run_in_threadpool(_missing, console.db, conversation):
        raise NotFound(f"No conversation {conversation!r}.")
    key = conversation or ALL

    async def stream():
        queue = hub.subscribe(key)  # inside the generator: its `finally` always undoes both
        handoff.agent_connected(agent.id)
        try:
            yield sse({"type": "hello", "conversation_id": conversation or None,
                       "agents_online": handoff.agents_online()})
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), timeout=KEEPALIVE_S)
                except TimeoutError:
                    try:
                        await run_in_threadpool(console.auth.session_of, request)
                    except LoginRequired:
                        yield sse({"type": "logged_out"})
                        return
                    yield b": keep-alive\n\n"
                    continue
                if conversation or event.get("type") in QUEUE_EVENTS:
                    yield sse(await run_in_threadpool(console.masker.event, event))
        finally:
            hub.unsubscribe(key, queue)
            handoff.agent_disconnected(agent.id)

    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
