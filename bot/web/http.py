"""HTTP routes of the bot service: health, the server-to-server message API, the widget and its demo page.

`POST /api/messages` is for other servers (a CRM, a phone bot): it needs an API key from
`supportbot apikey create`; widget session tokens are never accepted here. Errors answer with the
table in bot/errors.py: `{"error": code, "message": what to do, "retry": bool}`.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import text as sql

from bot import traffic
from bot.channel import public_turn
from bot.errors import MessageTooLong, RateLimited, StoreUnavailable

STATIC = Path(__file__).resolve().parent.parent / "static"
MAX_TEXT_CHARS = 32_000  # the schema's ceiling; the configured max_message_chars is checked after it
router = APIRouter()


class MessageIn(BaseModel):
    session_id: str | None = Field(None, description="Omit to start a new session; the answer names it.")
    text: str = Field(..., max_length=MAX_TEXT_CHARS,
                      description="The customer's message: at most `max_message_chars` characters (default 4000; "
                                  f"never more than {MAX_TEXT_CHARS}), no NUL, control characters or lone "
                                  "surrogates.")
    message_id: str | None = Field(None, max_length=64,
                                      description="Your id for this message; a retry with the same id is not "
                                                  "stored or answered twice.")


class Button(BaseModel):
    title: str
    payload: str


class Source(BaseModel):
    title: str
    url: str | None = None
    doc_id: str | None = None
    score: float | None = None


class Reply(BaseModel):
    text: str
    speaker: str = "bot"
    turn_id: int | None = None
    buttons: list[Button] | None = None
    sources: list[Source] | None = None
    agent_name: str | None = None


class MessageOut(BaseModel):
    session_id: str
    conversation_id: str
    status: str = Field(..., description="bot, waiting (for a person), human, or closed")
    answered: bool | None = Field(None, description="False: Rasa was down or slow; the message is stored.")
    notice: str | None = None
    duplicate: bool = False
    replies: list[Reply]


class HistoryOut(BaseModel):
    session_id: str
    conversation_id: str
    status: str
    turns: list[Reply]


def _services(request: Request):
    return request.app.state.services


bearer = HTTPBearer(auto_error=False, description="An API key from `supportbot apikey create`.")


async def api_key(request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)) -> dict:
    header = f"{creds.scheme} {creds.credentials}" if creds else request.headers.get("authorization")
    return await request.app.state.channel.db(request.app.state.apikeys.authenticate, header)


async def body_size(request: Request, content_length: int | None = Header(None)) -> None:
    limit = request.app.state.services.settings.max_message_chars * 6 + 4096
    if content_length is not None and content_length > limit:
        raise MessageTooLong(f"The request body is {content_length} bytes; the limit is {limit}. "
                             "Shorten the message.", max_bytes=limit)


@router.post("/api/messages", response_model=MessageOut, response_model_exclude_none=True, tags=["messages"],
             dependencies=[Depends(body_size)])
async def post_message(body: MessageIn, request: Request, key: dict = Depends(api_key)) -> dict:
    """Send one customer message and get the bot's replies (server-to-server; needs a Bearer API key)."""
    state = request.app.state
    if body.session_id is None:
        session_id, session = await state.channel.db(state.sessions.create_api_session, key["id"])
    else:
        session_id = body.session_id
        session = await state.channel.db(state.sessions.resolve_api_session, key["id"], session_id)
    try:
        state.limits.session.hit(session["session_id"])
    except RateLimited:
        await state.channel.db(traffic.mark_session, state.services.db, session["session_id"], traffic.RATE_LIMITED)
        raise
    result = await state.channel.handle_message(session, body.text, body.message_id)
    if key["name"] in state.services.settings.analytics_excluded_api_keys and result["customer_turn"]["seq"] == 0:
        await state.channel.db(traffic.mark_conversation, state.services.db, result["conversation_id"],
                               traffic.LOAD_GENERATOR)  # once, on the conversation's first message
    return {"session_id": session_id, "conversation_id": result["conversation_id"], "status": result["status"],
            "answered": result["answered"], "notice": result.get("notice"), "duplicate": result["duplicate"],
            "replies": [public_turn(t) for t in result["replies"]]}


@router.get("/api/sessions/{session_id}/history", response_model=HistoryOut, response_model_exclude_none=True,
            tags=["messages"])
async def session_history(session_id: str, request: Request, key: dict = Depends(api_key)) -> dict:
    """The session's open conversation so far: late answers and agents' messages appear here too."""
    state = request.app.state
    session = await state.channel.db(state.sessions.resolve_api_session, key["id"], session_id)
    conv = await state.channel.db(state.services.store.current_conversation, session["session_id"], "api")
    turns = await state.channel.db(state.services.store.history, conv["conversation_id"],
                                   state.services.settings.history_limit)
    return {"session_id": session_id, "conversation_id": conv["conversation_id"], "status": conv["status"],
            "turns": [public_turn(t) for t in turns]}


@router.get("/healthz", tags=["health"])
async def healthz(request: Request) -> JSONResponse:
    """200 while the service and its store work; `rasa` says whether Rasa answers (the widget copes if not)."""
    services = _services(request)

    def ping_store() -> None:
        try:
            with services.db.session() as s:
                s.execute(sql("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - reported as unhealthy
            raise StoreUnavailable(f"The conversation store does not answer ({type(exc).__name__}).") from exc

    store_ok = True
    try:
        await request.app.state.channel.db(ping_store)
    except StoreUnavailable:
        store_ok = False
    rasa_ok = await services.rasa.health()
    body = {"status": "ok" if store_ok else "degraded", "store": store_ok, "rasa": rasa_ok}
    return JSONResponse(body, status_code=200 if store_ok else 503)


@router.get("/widget.js", include_in_schema=False)
async def widget_js() -> FileResponse:
    return FileResponse(STATIC / "widget.js", media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=300"})


@router.get("/", include_in_schema=False)
@router.get("/demo", include_in_schema=False)
async def demo_page() -> FileResponse:
    return FileResponse(STATIC / "demo.html", media_type="text/html")
