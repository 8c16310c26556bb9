"""Security headers on every HTTP response (an ASGI middleware).

- everywhere: `X-Content-Type-Options: nosniff`, `Referrer-Policy`, and HSTS when the request came over
  TLS (directly, or `X-Forwarded-Proto: https` from a trusted proxy; bot/web/proxies.py);
- the console (`/console…`, `/api/console…`): a CSP without inline script (its JavaScript is in
  bot/console/static/), no framing at all;
- the demo page and the widget script: framing only by the `allowed_origins` (`frame-ancestors`); the
  widget injects its own stylesheet into a shadow root, so styles may be inline, scripts may not;
- the API docs (`/docs`, `/redoc`) load FastAPI's Swagger UI with an inline bootstrap script and get
  no CSP, only the headers above.
"""

from __future__ import annotations

from bot.web.proxies import ClientAddress

CONSOLE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
               "form-action 'self'; frame-ancestors 'none'")
WIDGET_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
              "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors {ancestors}")


def frame_ancestors(allowed_origins: list[str]) -> str:
    """The CSP source list of the sites that may frame the widget's pages."""
    if "*" in allowed_origins:
        return "*"
    return " ".join(["'self'", *(o.rstrip("/") for o in allowed_origins if o.strip())])


class SecurityHeaders:
    def __init__(self, app, allowed_origins: list[str], proxies: ClientAddress, hsts_max_age_s: int):
        self.app = app
        self.widget_csp = WIDGET_CSP.format(ancestors=frame_ancestors(allowed_origins)).encode()
        self.proxies = proxies
        self.hsts = f"max-age={hsts_max_age_s}; includeSubDomains".encode() if hsts_max_age_s > 0 else b""

    def _tls(self, scope) -> bool:
        if scope.get("scheme") == "https":
            return True
        peer = (scope.get("client") or ("",))[0]
        if not self.proxies.is_trusted(peer):
            return False
        return any(k == b"x-forwarded-proto" and v.strip().lower() == b"https" for k, v in scope.get("headers") or ())

    def headers_for(self, scope) -> list[tuple[bytes, bytes]]:
        path = scope.get("path", "")
        out = [(b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"strict-origin-when-cross-origin")]
        if path.startswith(("/console", "/api/console")):
            out += [(b"content-security-policy", CONSOLE_CSP.encode()), (b"x-frame-options", b"DENY")]
        elif path in ("/", "/demo", "/widget.js"):
            out.append((b"content-security-policy", self.widget_csp))
        if self.hsts and self._tls(scope):
            out.append((b"strict-transport-security", self.hsts))
        return out

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        extra = self.headers_for(scope)

        async def with_headers(message):
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *((k, v) for k, v in extra if k not in names)]}
            await send(message)

        await self.app(scope, receive, with_headers)
