"""The resolution dashboard (`/console/resolution`), its JSON and its CSV export.

Rates per day, per intent, per KB article and per learnt reply template (bot/console/resolution_report.py)
with the metric's definition printed above them; every count links to the conversation list filtered to
exactly the conversations it counts. The CSV is always anonymised (privacy.masking.redact_text).
"""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.console import resolution_report
from bot.console.accounts import Agent
from bot.console.auth import agent_required
from bot.console.context import console_of
from bot.console.dashboard import date_range
from bot.console.errors import ConsoleRoute
from bot.console.resolution import CLASSES, DEFINITION
from bot.console.views import jsonable, render

router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md
TITLES = {"day": "Per day", "intent": "Per intent", "article": "Per KB article", "template": "Per learnt reply"}


def drill_links(row: dict) -> dict[str, str]:
    """For each class, the conversation list filtered to the row's conversations of that class."""
    return {k: "/console/conversations?" + urlencode({"ids": ",".join(row["ids"][k])}) if row["ids"][k] else ""
            for k in CLASSES}


def _data(request: Request) -> tuple:
    console = console_of(request)
    rng = date_range(request)
    hours = console.settings.resolution_return_hours
    return rng, hours, resolution_report.report(console.db, rng, hours)


@router.get("/console/resolution")
async def resolution_dashboard(request: Request, agent: Agent = Depends(agent_required)):
    rng, hours, data = await run_in_threadpool(_data, request)
    mask = console_of(request).masker.text
    tables = [{"group": g, "title": TITLES[g],
               "rows": [{**row, "label": mask(row["key"]) if g == "template" else row["key"],
                         "links": drill_links(row)} for row in data[g]]}
              for g in resolution_report.GROUPS]
    return render(request, "resolution.html", {
        "range": rng, "definition": DEFINITION.format(hours=hours), "summary": data["summary"],
        "summary_links": drill_links(data["summary"]), "tables": tables, "classes": CLASSES,
        "csv_link": "/console/resolution.csv?" + urlencode({"date_from": rng.start, "date_to": rng.end})})


@router.get("/api/console/resolution")
async def resolution_api(request: Request, agent: Agent = Depends(agent_required)):
    rng, hours, data = await run_in_threadpool(_data, request)
    mask = console_of(request).masker.text
    data["template"] = [{**row, "key": mask(row["key"])} for row in data["template"]]
    return JSONResponse(jsonable({"definition": DEFINITION.format(hours=hours), **data}))


@router.get("/console/resolution.csv")
async def resolution_csv(request: Request, agent: Agent = Depends(agent_required)):
    from privacy.masking import redact_text

    rng, _hours, data = await run_in_threadpool(_data, request)
    body = await run_in_threadpool(resolution_report.to_csv, data, redact_text)
    name = f"supportbot-resolution-{rng.start}-{rng.end}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
