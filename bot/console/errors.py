"""How the console answers an error: JSON for its API and script, an HTML page for a browser.

The console's errors are bot.errors classes (one status table, `bot.errors.HTTP_STATUS`, and one
JSON shape, `bot.errors.error_body`; docs/api-errors.md). `ConsoleRoute` wraps the console's own
handlers only: API paths and requests that ask for JSON get that body; browser pages get a small
HTML page with the same message and status, and a missing login redirects to the login page.
A database failure becomes `StoreUnavailable` (503).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.routing import APIRoute
from sqlalchemy.exc import SQLAlchemyError

from bot import errors
from bot.errors import NotFound, RateLimited, ServiceError, StoreUnavailable, Unauthorized, Unprocessable

log = logging.getLogger(__name__)

__all__ = ["BadRequest", "ConsoleRoute", "CsrfFailed", "Forbidden", "LoginRequired", "NotFound", "StoreDown",
           "TooManyAttempts", "error_response", "is_api"]


class LoginRequired(Unauthorized):
    code = "login_required"

    def __init__(self, message: str = "Log in to use the console."):
        super().__init__(message)


class Forbidden(errors.Forbidden):
    def __init__(self, message: str = "Only admins can open this page."):
        super().__init__(message)


class CsrfFailed(errors.Forbidden):
    code = "csrf_failed"

    def __init__(self, message: str = "The form expired or came from another site; reload the page and try again."):
        super().__init__(message)


class TooManyAttempts(RateLimited):
    """Too many failed logins from this username or address within the login window."""

    code = "too_many_attempts"


class BadRequest(Unprocessable):
    """A console request whose values cannot be used (a bad filter, a malformed body)."""


class StoreDown(StoreUnavailable):
    def __init__(self, message: str = "The conversation store is unavailable; try again in a moment."):
        super().__init__(message)


def is_api(request: Request) -> bool:
    """JSON for the API paths and for the console's own script (it asks for JSON); HTML otherwise."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith("/api/") or ("application/json" in accept and "text/html" not in accept)


def error_response(request: Request, exc: ServiceError) -> Response:
    code = errors.http_status(exc)
    if isinstance(exc, LoginRequired) and not is_api(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/console/login?next={quote(target, safe='')}", status_code=303)
    if is_api(request):
        return JSONResponse(errors.error_body(exc), status_code=code, headers=errors.retry_after(exc))
    from bot.console.views import render  # late: templates load only when a page is served

    return render(request, "error.html", {"status": code, "message": str(exc)}, status_code=code)


class ConsoleRoute(APIRoute):
    """APIRoute whose handler turns service errors (and store failures) into JSON or an HTML page."""

    def get_route_handler(self) -> Callable:
        inner = super().get_route_handler()

        async def handler(request: Request) -> Response:
            try:
                return await inner(request)
            except ServiceError as exc:
                return error_response(request, exc)
            except SQLAlchemyError:
                log.exception("console store error on %s", request.url.path)
                return error_response(request, StoreDown())

        return handler
