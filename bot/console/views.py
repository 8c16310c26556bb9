"""Rendering the console's pages: one Jinja2 environment with autoescaping always on.

Every customer, bot and agent text reaches the page through `{{ … }}`, so it is escaped; the
pages' own script only ever writes text with `textContent`. A strict Content-Security-Policy (no
inline script, no foreign origins) backs both up: even an unescaped payload could not run.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from bot.answer_source import LABELS

TEMPLATES = Path(__file__).resolve().parent / "templates"
SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def when(value: Any) -> Markup | str:
    """A time as `<time datetime="ISO">… UTC</time>`: static/inbox.js shows it in the agent's time zone."""
    if not isinstance(value, dt.datetime):
        return "" if value is None else str(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(dt.UTC)
    return Markup('<time datetime="{}">{}</time>').format(value.isoformat(), value.strftime("%Y-%m-%d %H:%M:%S UTC"))


def iso(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()
    return "" if value is None else str(value)


def jsonable(value: Any) -> Any:
    """Datetimes as ISO strings (UTC), recursively; everything else as is."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return iso(value) if isinstance(value, dt.datetime) else value


def safe_href(value: Any) -> str:
    """Only absolute http(s) links become clickable; anything else (javascript:, data:) is dropped."""
    if isinstance(value, str) and urlsplit(value.strip()).scheme in ("http", "https"):
        return value.strip()
    return ""


def pct(value: Any) -> str:
    return "–" if value is None else f"{100 * value:.1f} %"


def score(value: Any) -> str:
    return "–" if value is None else f"{value:.2f}"


@functools.lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(when=when, iso=iso, pct=pct, score=score, safe_href=safe_href,
                       source_label=lambda v: LABELS.get(v, v or ""),
                       tojson_pretty=lambda v: json.dumps(v, indent=1, sort_keys=True, default=str))
    env.globals["urlencode"] = lambda params: urlencode(params)
    return env


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> HTMLResponse:
    ctx = {"request": request, "agent": getattr(request.state, "agent", None),
           "csrf": getattr(request.state, "csrf", ""), **context}
    html = environment().get_template(name).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)
