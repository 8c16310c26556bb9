"""Agent assist in the console: suggested replies and KB passages for the conversation an agent has.

    GET  /api/console/conversations/{id}/suggestions          top replies + passages (and records them shown)
    POST /api/console/conversations/{id}/suggestions/resolve  {batch, chosen, final_text, turn_id}

The engine (`finetune.suggest.Suggester` over the serving `ResponseSelector` and the KB `Retriever`)
is loaded on the first request, in a worker thread, and kept; the selector hot-reloads newly
promoted models by itself. A KB index that is missing is looked for again at most every
`RETRY_S` seconds. Nothing heavy is imported by this module.
"""

from __future__ import annotations

import logging
import threading
import time

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Agent
from bot.console.actions import fields
from bot.console.assist_log import record_shown, resolve
from bot.console.auth import agent_required
from bot.console.context import console_of
from bot.console.errors import BadRequest, ConsoleRoute, NotFound
from bot.console.views import jsonable
from core.store.models import Conversation, Turn

log = logging.getLogger(__name__)
router = APIRouter(route_class=ConsoleRoute, include_in_schema=False)  # see docs/console.md
RETRY_S = 30.0
CONTEXT_TURNS = 40  # more than any model's context window; bounds the query on long chats


class AssistEngine:
    """The suggester of one app, built on first use; `warm_up()` builds it now."""

    def __init__(self, settings):
        self.settings = settings
        self._suggester = None
        self._lock = threading.Lock()
        self._retriever_tried = float("-inf")

    def warm_up(self):
        with self._lock:
            if self._suggester is None:
                from finetune.serving import ResponseSelector
                from finetune.suggest import Suggester

                self._suggester = Suggester(ResponseSelector(self.settings).load(), None)
            if self._suggester.retriever is None and time.monotonic() - self._retriever_tried >= RETRY_S:
                self._retriever_tried = time.monotonic()
                self._suggester.retriever = self._load_retriever()
            return self._suggester

    def _load_retriever(self):
        from retrieval.service import Retriever

        try:
            retriever = Retriever(self.settings.index_dir, settings=self.settings).load()
            retriever.search("warm up", k=1)
            return retriever
        except Exception as exc:  # noqa: BLE001 - IndexMissing and friends: replies still work
            log.warning("agent assist without KB passages: %s", exc)
            return None

    def suggest(self, turns: list[dict], slots: dict) -> dict:
        return self.warm_up().suggest(turns, slots)


def engine_of(request: Request) -> AssistEngine:
    state = request.app.state
    engine = getattr(state, "assist", None)
    if engine is None:
        engine = state.assist = AssistEngine(console_of(request).settings)
    return engine


def load_context(db, conversation_id: str) -> tuple[list[dict], dict]:
    with db.session() as s:
        conv = s.get(Conversation, conversation_id)
        if conv is None:
            raise NotFound(f"No conversation {conversation_id!r}.")
        rows = s.scalars(select(Turn).where(Turn.conversation_id == conversation_id)
                         .order_by(Turn.seq.desc()).limit(CONTEXT_TURNS)).all()
        turns = [{"speaker": t.speaker, "text": t.text, "entities": t.entities or []} for t in reversed(rows)]
        return turns, dict(conv.meta or {})


def suggestions_for(db, engine: AssistEngine, conversation_id: str, agent_id: int) -> dict:
    from finetune.suggest import slots_from_turns

    turns, meta = load_context(db, conversation_id)
    result = engine.suggest(turns, slots_from_turns(turns, meta))
    batch, ids = record_shown(db, conversation_id, agent_id, result["replies"], result["model_version"])
    for reply, sid in zip(result["replies"], ids):
        reply["id"] = sid
    return {"conversation_id": conversation_id, "batch": batch, **result}


@router.get("/api/console/conversations/{conversation_id}/suggestions")
async def suggestions(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
    console = console_of(request)
    data = await run_in_threadpool(suggestions_for, console.db, engine_of(request), conversation_id, agent.id)
    return JSONResponse(jsonable(data), headers={"Cache-Control": "no-store"})


def _int_or_none(value, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadRequest(f"{name} must be a number (or null).") from None


@router.post("/api/console/conversations/{conversation_id}/suggestions/resolve")
async def resolve_batch(conversation_id: str, request: Request, agent: Agent = Depends(agent_required)):
    f = await fields(request)
    batch = str(f.get("batch") or "")
    if not batch:
        raise BadRequest("Give the `batch` of the suggestions that were on screen.")
    chosen, turn_id = _int_or_none(f.get("chosen"), "chosen"), _int_or_none(f.get("turn_id"), "turn_id")
    try:
        result = await run_in_threadpool(resolve, console_of(request).db, conversation_id, batch, chosen,
                                         str(f.get("final_text") or ""), turn_id)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
    return JSONResponse(jsonable(result))
