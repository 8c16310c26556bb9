"""The console's pages: login/logout, the conversation list, a transcript, the handoff queue.

Pages are server-rendered (Jinja2, autoescaped) and work without script; static/console.js adds
live updates and sends chat messages without a reload.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Agent
from bot.console.auth import LOGIN_COOKIE, LoginFailed, agent_required
from bot.console.context import console_of
from bot.console.errors import ConsoleRoute, TooManyAttempts
from bot.console.listing import LANGUAGES, OUTCOMES, STATUSES, ListFilters, list_conversations, queue
from bot.console.takeover import summarise
from bot.console.transcript import load_transcript
from bot.console.views import jsonable, render
from bot.errors import http_status

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md


def safe_next(target: str | None) -> str:
    """Only redirect within the console (no open redirect to another site)."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/conversations"


@router.get("/console/login")
async def login_page(request: Request, next: str = "", error: str = ""):
    return _login_form(request, next, error)


def _login_form(request: Request, next_url: str, error: str = "", status_code: int = 200):
    auth = console_of(request).auth
    nonce, token = auth.login_form_token(request)
    response = render(request, "login.html", {"login_csrf": token, "next": safe_next(next_url), "error": error},
                      status_code=status_code)
    auth.set_login_cookie(request, response, nonce)
    return response


@router.post("/console/login")
async def login(request: Request):
    auth = console_of(request).auth
    form = await request.form()
    auth.check_login_token(request, str(form.get("csrf_token", "")))
    target = safe_next(str(form.get("next", "")))
    response = RedirectResponse(target, status_code=303)
    try:
        await run_in_threadpool(auth.login, request, response, str(form.get("username", "")),
                                str(form.get("password", "")))
    except (LoginFailed, TooManyAttempts) as exc:
        return _login_form(request, target, str(exc), status_code=http_status(exc))
    return response


@router.post("/console/logout")
async def logout(request: Request, agent: Agent = Depends(agent_required)):
    response = RedirectResponse("/console/login", status_code=303)
    console_of(request).auth.logout(request, response)
    response.delete_cookie(LOGIN_COOKIE, path="/")
    return response


@router.get("/console")
@router.get("/console/")
async def home(agent: Agent = Depends(agent_required)):
    return RedirectResponse("/console/conversations", status_code=303)


@router.get("/console/conversations")
def conversations_page(request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    filters = ListFilters.parse(request.query_params)
    page = list_conversations(console.db, filters, console.settings, mask=console.masker.text)
    return render(request, "conversations.html", {
        "filters": filters, "page": page, "intents": console.intents(), "statuses": STATUSES,
        "outcomes": OUTCOMES, "languages": LANGUAGES, "next_params": filters.query_params(cursor=page["next_cursor"] or ""),
        "low_confidence": console.settings.console_low_confidence, "low_csat": console.settings.console_low_csat})


@router.get("/api/console/conversations")
def conversations_api(request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    page = list_conversations(console.db, ListFilters.parse(request.query_params), console.settings,
                              mask=console.masker.text)
    return JSONResponse(jsonable(page))


@router.get("/console/conversations/{conversation_id}")
def transcript_page(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    data = console.masker.transcript(load_transcript(console.db, conversation_id))
    return render_transcript(request, data, agent)


def with_takeover(data: dict) -> dict:
    """The transcript plus the takeover summary of the bot's part (bot/console/takeover.py), for a
    conversation that reached the handoff queue or is with a person."""
    conv = data["conversation"]
    if conv["status"] in ("waiting", "human") or conv["meta"].get("handoff_reason"):
        return {**data, "takeover": summarise(data["turns"], conv["meta"])}
    return {**data, "takeover": None}


def render_transcript(request: Request, data: dict, agent: Agent, revealed: bool = False):
    console = console_of(request)
    data = with_takeover(data)
    return render(request, "transcript.html", {**data, "intents": console.intents(), "revealed": revealed,
                                               "may_reveal": console.masker.may_reveal(agent.role),
                                               "agents_online": console.handoff.agents_online()})


@router.get("/api/console/conversations/{conversation_id}")
def transcript_api(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    return JSONResponse(jsonable(with_takeover(console.masker.transcript(load_transcript(console.db, conversation_id)))))


@router.get("/console/queue")
def queue_page(request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    return render(request, "queue.html", {**queue(console.db, agent.id, mask=console.masker.text),
                                          "agents_online": console.handoff.agents_online()})


@router.get("/api/console/queue")
def queue_api(request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    return JSONResponse(jsonable({**queue(console.db, agent.id, mask=console.masker.text), "agents_online": console.handoff.agents_online()}))
