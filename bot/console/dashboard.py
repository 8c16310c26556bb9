"""The analytics dashboard (charts over a date range, each clickable into the filtered list)
and its CSV export."""

from __future__ import annotations

import datetime as dt
import logging
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.console import analytics
from bot.console.accounts import Agent
from bot.console.auth import agent_required
from bot.console.charts import bar_chart, column_chart
from bot.console.context import console_of
from bot.console.errors import BadRequest, ConsoleRoute
from bot.console.views import jsonable, render

log = logging.getLogger(__name__)
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md
MAX_DAYS = 366


def date_range(request: Request) -> analytics.DateRange:
    default = analytics.DateRange.last_days(30)
    try:
        start = dt.date.fromisoformat(request.query_params.get("date_from") or default.start.isoformat())
        end = dt.date.fromisoformat(request.query_params.get("date_to") or default.end.isoformat())
    except ValueError:
        raise BadRequest("Dates must look like 2026-01-31.") from None
    if start > end:
        raise BadRequest("The start date is after the end date.")
    if (end - start).days >= MAX_DAYS:
        raise BadRequest(f"Pick a range of at most {MAX_DAYS} days.")
    return analytics.DateRange(start, end)


def list_link(rng: analytics.DateRange, **filters: str) -> str:
    params = {"date_from": rng.start.isoformat(), "date_to": rng.end.isoformat(), "customers": "1", **filters}
    return "/console/conversations?" + urlencode({k: v for k, v in params.items() if v})


def collect(request: Request, rng: analytics.DateRange, mask=None) -> dict:
    """The dashboard's data; `mask` (text -> text) applies to the unanswered questions, which are
    customers' own words: the console's masking for the page, the PII engine for the CSV export."""
    console = console_of(request)
    mask = mask or console.masker.text
    days = analytics.daily(console.db, rng, console.settings)
    try:
        clusters, clusters_error = console.clusters.clusters(rng), None
    except (ImportError, OSError, RuntimeError, ValueError) as exc:  # the encoder could not be loaded
        log.warning("unanswered-question clusters unavailable: %s", exc)
        clusters, clusters_error = [], f"Clustering is unavailable: {exc}"
    clusters = [{**c, "label": mask(c["label"]), "examples": [mask(e) for e in c["examples"]]} for c in clusters]
    return {"days": days, "summary": analytics.summary(days), "csat": analytics.csat_distribution(console.db, rng),
            "intents": analytics.top_intents(console.db, rng), "clusters": clusters, "clusters_error": clusters_error,
            "sources": analytics.answers_by_source(console.db, rng)}


@router.get("/console/analytics")
async def dashboard(request: Request, agent: Agent = Depends(agent_required)):
    rng = date_range(request)
    data = await run_in_threadpool(collect, request, rng)
    per_day = column_chart([(d["day"], d["conversations"],
                             list_link(analytics.DateRange(dt.date.fromisoformat(d["day"]),
                                                           dt.date.fromisoformat(d["day"]))))
                            for d in data["days"]])
    intents = bar_chart([(i["intent"], i["count"], list_link(rng, intent=i["intent"])) for i in data["intents"]])
    csat = bar_chart([(f"{score} ★", n, list_link(rng, negative="1") if score <= console_of(request).settings.console_low_csat
                       else list_link(rng)) for score, n in data["csat"].items()], label_w=60)
    links = {"handoff": list_link(rng, handed_off="1"), "fallback": list_link(rng, fallback="1"),
             "negative": list_link(rng, negative="1"), "all": list_link(rng),
             "contained": list_link(rng, contained="1"),
             "clusters": ["/console/conversations?" + urlencode({"ids": ",".join(c["conversation_ids"])})
                          for c in data["clusters"]]}
    return render(request, "analytics.html", {**data, "range": rng, "per_day": per_day, "intent_chart": intents,
                                              "csat_chart": csat, "links": links,
                                              "csv_link": "/console/analytics.csv?" + urlencode(
                                                  {"date_from": rng.start, "date_to": rng.end})})


@router.get("/api/console/analytics")
async def dashboard_api(request: Request, agent: Agent = Depends(agent_required)):
    rng = date_range(request)
    return JSONResponse(jsonable(await run_in_threadpool(collect, request, rng)))


@router.get("/console/analytics.csv")
async def dashboard_csv(request: Request, agent: Agent = Depends(agent_required)):
    rng = date_range(request)
    from privacy.masking import redact_text

    data = await run_in_threadpool(collect, request, rng, redact_text)  # exports are always redacted
    body = analytics.to_csv(data["days"], data["intents"], data["clusters"])
    name = f"supportbot-analytics-{rng.start}-{rng.end}.csv"
    return Response(body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
