"""Admin-only pages: the review queue of unreviewed low-confidence turns, and console accounts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import ROLES, Agent
from bot.console.auth import admin_required
from bot.console.context import console_of
from bot.console.corrections import review_queue
from bot.console.errors import BadRequest, ConsoleRoute
from bot.console.views import jsonable, render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md


@router.get("/console/review")
def review_page(request: Request, agent: Agent = Depends(admin_required)):
    console = console_of(request)
    items = review_queue(console.db, console.settings.console_low_confidence)
    return render(request, "review.html", {"items": items, "intents": console.intents(),
                                           "threshold": console.settings.console_low_confidence})


@router.get("/api/console/review")
def review_api(request: Request, agent: Agent = Depends(admin_required)):
    console = console_of(request)
    return JSONResponse(jsonable({"items": review_queue(console.db, console.settings.console_low_confidence)}))


@router.get("/console/admin/users")
def users_page(request: Request, agent: Agent = Depends(admin_required), error: str = ""):
    return render(request, "users.html", {"users": console_of(request).auth.accounts.list(), "roles": ROLES,
                                          "error": error})


@router.post("/console/admin/users")
async def add_user(request: Request, agent: Agent = Depends(admin_required)):
    form = await request.form()
    accounts = console_of(request).auth.accounts
    await run_in_threadpool(accounts.add, str(form.get("username", "")).strip(), str(form.get("password", "")),
                            str(form.get("role", "agent")), str(form.get("display_name", "")))
    return RedirectResponse("/console/admin/users", status_code=303)


@router.post("/console/admin/users/{username}/{action}")
async def set_disabled(username: str, action: str, request: Request, agent: Agent = Depends(admin_required)):
    if action not in ("disable", "enable"):
        raise BadRequest("Use disable or enable.")
    if username == agent.username and action == "disable":
        raise BadRequest("You cannot disable your own account; ask another admin.")
    await run_in_threadpool(console_of(request).auth.accounts.set_disabled, username, action == "disable")
    return RedirectResponse("/console/admin/users", status_code=303)
