"""The errors of the bot service and its console, and the one table that maps them to HTTP codes.

Every error is a `ServiceError` with a stable machine `code` and a message written for the person
who caused it, saying what to do next. Errors of other modules (bot.handoff, the console) subclass
one of the classes here, so `HTTP_STATUS` is the only status table: the nearest class in an
error's MRO decides. Every JSON error body has one shape, `error_body()`:
`{"error": code, "message": ..., "retry": bool, ...details}` (docs/api-errors.md); WebSocket
handlers send the same fields as an `error` event (`error_event`), the console's browser pages
show the message on an HTML page (bot/console/errors.py).
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class ServiceError(Exception):
    """Base of the bot service's errors; `str(exc)` is shown to the client as is."""

    code = "internal_error"
    retry = False  # True: the same request may succeed later (the widget resends it by itself)

    def __init__(self, message: str, **details: Any):
        super().__init__(message)
        self.details = details


class InvalidRequest(ServiceError):
    code = "invalid_request"


class InvalidJson(InvalidRequest):
    code = "invalid_json"


class EmptyMessage(InvalidRequest):
    code = "empty_message"


class MessageTooLong(InvalidRequest):
    code = "message_too_long"


class InvalidText(InvalidRequest):
    """Text with characters that cannot be stored (a lone surrogate, NUL, a control character)."""

    code = "invalid_text"


class BodyTooLarge(InvalidRequest):
    """A request body over `max_body_bytes`, refused while it streams in (bot/web/body_limit.py)."""

    code = "body_too_large"


class Unauthorized(ServiceError):
    code = "unauthorized"


class Unprocessable(InvalidRequest):
    """Well-formed, but it cannot be done as asked (a bad value, a rule of the data)."""

    code = "invalid_input"


class Forbidden(ServiceError):
    code = "forbidden"


class OriginNotAllowed(Forbidden):
    code = "origin_not_allowed"


class IdentityInvalid(ServiceError):
    """The host site's user id came with a signature that does not verify (bot/identity.py)."""

    code = "identity_invalid"


class TooManyConnections(ServiceError):
    """More open widget sockets from one address than `ws_max_sockets_per_ip`."""

    code = "too_many_connections"
    retry = True


class UnknownSession(ServiceError):
    code = "unknown_session"


class NotFound(ServiceError):
    code = "not_found"


class Conflict(ServiceError):
    code = "conflict"


class RateLimited(ServiceError):
    code = "rate_limited"
    retry = True

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message, retry_after_s=round(retry_after_s, 1))
        self.retry_after_s = retry_after_s


class StoreUnavailable(ServiceError):
    """The conversation store could not be written or read, even after retrying for a moment."""

    code = "store_unavailable"
    retry = True


class RasaUnavailable(ServiceError):
    """Rasa (or, behind it, the action server) refused the connection or failed."""

    code = "rasa_unavailable"
    retry = True


class RasaTimeout(RasaUnavailable):
    code = "rasa_timeout"


HTTP_STATUS: dict[type[Exception], int] = {
    InvalidRequest: 400,
    InvalidJson: 400,
    Unprocessable: 422,
    EmptyMessage: 422,
    MessageTooLong: 413,
    InvalidText: 422,
    BodyTooLarge: 413,
    Unauthorized: 401,
    Forbidden: 403,
    OriginNotAllowed: 403,
    IdentityInvalid: 403,
    TooManyConnections: 429,
    UnknownSession: 404,
    NotFound: 404,
    Conflict: 409,
    RateLimited: 429,
    StoreUnavailable: 503,
    RasaUnavailable: 503,
    RasaTimeout: 504,
}


def http_status(exc: Exception) -> int:
    """The status of the nearest class of `exc` in the table; 500 for anything unexpected."""
    for cls in type(exc).__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    return 500


def error_body(exc: Exception) -> dict[str, Any]:
    """The JSON body (and WebSocket event fields) describing `exc`; internals are never leaked."""
    if isinstance(exc, ServiceError):
        return {"error": exc.code, "message": str(exc), "retry": exc.retry, **exc.details}
    log.exception("unexpected error", exc_info=exc)
    return {"error": "internal_error", "message": "Something went wrong on our side; please try again.",
            "retry": True}


def error_event(exc: Exception, **extra: Any) -> dict[str, Any]:
    """The WebSocket `error` event for `exc` (`code` instead of `error`, plus e.g. the client_msg_id)."""
    body = error_body(exc)
    return {"type": "error", "code": body.pop("error"), **body, **extra}


def retry_after(exc: Exception) -> dict[str, str] | None:
    """The Retry-After header of a RateLimited answer; None for other errors."""
    return {"Retry-After": str(max(1, round(exc.retry_after_s)))} if isinstance(exc, RateLimited) else None


def install(app) -> None:
    """Register the table on a FastAPI app: every ServiceError, bad JSON and bad fields answer clearly."""
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse

    async def service_error(_request, exc: ServiceError):
        return JSONResponse(error_body(exc), status_code=http_status(exc), headers=retry_after(exc))

    async def validation_error(_request, exc: RequestValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()) if p != 'body') or 'body'}: {e.get('msg')}"
            for e in exc.errors()
        )
        bad_json = any(e.get("type") == "json_invalid" or tuple(e.get("loc", ())) == ("body",) for e in exc.errors())
        bad_text = any(e.get("type") == "string_unicode" for e in exc.errors())  # e.g. a lone surrogate
        err = (InvalidJson('The request body must be a JSON object sent with Content-Type: application/json, '
                           'e.g. {"text": "hello"}.') if bad_json
               else InvalidText(f"The request has text that cannot be stored ({problems}); remove invalid "
                                "characters (lone surrogates) and send again.") if bad_text
               else InvalidRequest(f"The request is malformed ({problems}); see /docs for the expected shape."))
        return JSONResponse(error_body(err), status_code=http_status(err))

    app.add_exception_handler(ServiceError, service_error)
    app.add_exception_handler(RequestValidationError, validation_error)
