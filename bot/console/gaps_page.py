"""The knowledge gaps view (`/console/gaps`) and its JSON: clusters of questions the bot could not answer,
each with its customer count, examples, a link to its conversations and a draft article outline
(bot/console/gaps.py). Customers' words are masked as on every console page."""

from __future__ import annotations

import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Agent
from bot.console.auth import agent_required
from bot.console.context import console_of
from bot.console.dashboard import date_range
from bot.console.errors import ConsoleRoute
from bot.console.gaps import outline, slug_of, title_of
from bot.console.views import jsonable, render

log = logging.getLogger(__name__)
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md


def collect(request: Request) -> dict:
    console = console_of(request)
    rng = date_range(request)
    mask = console.masker.text
    try:
        found, error = console.gaps.gaps(rng), None
    except (ImportError, OSError, RuntimeError, ValueError) as exc:  # the encoder could not be loaded
        log.warning("knowledge gaps unavailable: %s", exc)
        found, error = [], f"Clustering is unavailable: {exc}"
    gaps = []
    for gap in found:
        gap = {**gap, "label": mask(gap["label"]), "examples": [mask(e) for e in gap["examples"]],
               "questions": [mask(q) for q in gap.get("questions", [])]}
        title = title_of(gap["label"])
        gaps.append({**gap, "title": title, "file": f"data/kb/{slug_of(title)}.md", "outline": outline(gap),
                     "link": "/console/conversations?" + urlencode({"ids": ",".join(gap["conversation_ids"])})})
    return {"range": rng, "gaps": gaps, "error": error}


@router.get("/console/gaps")
async def gaps_page(request: Request, agent: Agent = Depends(agent_required)):
    return render(request, "gaps.html", await run_in_threadpool(collect, request))


@router.get("/api/console/gaps")
async def gaps_api(request: Request, agent: Agent = Depends(agent_required)):
    data = await run_in_threadpool(collect, request)
    return JSONResponse(jsonable({**data, "range": {"date_from": data["range"].start.isoformat(),
                                                    "date_to": data["range"].end.isoformat()}}))
