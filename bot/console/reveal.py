"""Revealing a masked conversation: `POST /console/conversations/{id}/reveal` (the transcript page's
"Reveal personal data" button) answers the transcript unmasked, `POST /api/console/conversations/{id}/reveal`
the same as JSON. Only roles in `pii_reveal_roles` may; each reveal writes an audit event (who,
when, which conversation) before anything is shown. A reveal lasts one page view: opening the
transcript again shows it masked (a browser reload re-sends the POST: a new reveal, audited again).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Agent
from bot.console.auth import agent_required
from bot.console.context import console_of
from bot.console.errors import ConsoleRoute, Forbidden
from bot.console.transcript import load_transcript
from bot.console.views import jsonable

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md, docs/privacy.md


def _reveal(request: Request, conversation_id: str, agent: Agent) -> dict:
    from privacy import audit

    console = console_of(request)
    if not console.masker.may_reveal(agent.role):
        raise Forbidden(f"Your role ({agent.role}) may not reveal personal data; ask an administrator.")
    data = load_transcript(console.db, conversation_id)  # NotFound before any audit row
    audit.record(console.db, agent.username, "reveal", f"conversation:{conversation_id}",
                 {"user_id": agent.id, "role": agent.role, "turns": len(data["turns"])})
    return data


@router.post("/console/conversations/{conversation_id}/reveal")
async def reveal_page(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
    from bot.console.pages import render_transcript

    data = await run_in_threadpool(_reveal, request, conversation_id, agent)
    return render_transcript(request, data, agent, revealed=True)


@router.post("/api/console/conversations/{conversation_id}/reveal")
async def reveal_api(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
    data = await run_in_threadpool(_reveal, request, conversation_id, agent)
    return JSONResponse(jsonable({**data, "revealed": True}))
