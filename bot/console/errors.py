"""The console's errors and the one table that maps them to HTTP status codes.

`ConsoleRoute` applies the table to the console's own routes only (it wraps their handlers),
so nothing here changes how the rest of the bot service reports errors. API paths answer JSON
`{"error": message}`; pages answer a small HTML page, and a missing login redirects to it.
"""

from __future__ import annotations

import logging
from typing import Callable
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError

from bot.console.accounts import AccountError
from bot.console.passwords import WeakPassword
from bot.handoff import AlreadyClaimed, ConversationNotFound, HandoffError, InvalidInput, NotAssigned

log = logging.getLogger(__name__)


class ConsoleError(Exception):
    """Base of the console's own errors; the message is shown to the user as is."""


class LoginRequired(ConsoleError):
    def __init__(self, message: str = "Log in to use the console."):
        super().__init__(message)


class Forbidden(ConsoleError):
    def __init__(self, message: str = "Only admins can open this page."):
        super().__init__(message)


class CsrfFailed(ConsoleError):
    def __init__(self, message: str = "The form expired or came from another site; reload the page and try again."):
        super().__init__(message)


class TooManyAttempts(ConsoleError):
    pass


class NotFound(ConsoleError):
    pass


class BadRequest(ConsoleError):
    pass


class StoreDown(ConsoleError):
    def __init__(self, message: str = "The conversation store is unavailable; try again in a moment."):
        super().__init__(message)


STATUS: dict[type[Exception], int] = {
    LoginRequired: 401,
    Forbidden: 403,
    CsrfFailed: 403,
    NotAssigned: 409,
    NotFound: 404,
    ConversationNotFound: 404,
    AlreadyClaimed: 409,
    BadRequest: 422,
    InvalidInput: 422,
    AccountError: 422,
    WeakPassword: 422,
    TooManyAttempts: 429,
    StoreDown: 503,
}


def status_of(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 500


def is_api(request: Request) -> bool:
    """JSON for the API paths and for the console's own script (it asks for JSON); HTML otherwise."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def error_response(request: Request, exc: Exception) -> Response:
    code = status_of(exc)
    if isinstance(exc, LoginRequired) and not is_api(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)
    if is_api(request):
        return JSONResponse({"error": str(exc)}, status_code=code)
    from bot.console.views import render  # late: templates load only when a page is served

    return render(request, "error.html", {"status": code, "message": str(exc)}, status_code=code)


class ConsoleRoute(APIRoute):
    """APIRoute whose handler turns the errors of the table (and store failures) into responses."""

    def get_route_handler(self) -> Callable:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except (ConsoleError, HandoffError, AccountError, WeakPassword) as exc:
                return error_response(request, exc)
            except SQLAlchemyError as exc:
                log.exception("console store error on %s", request.url.path)
                return error_response(request, StoreDown())

        return handler
