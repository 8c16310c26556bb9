"""An ASGI middleware that caps every HTTP request body by the bytes that actually arrive.

It runs before routing, parsing and authentication, so a client without credentials cannot make
the service buffer a large body: a `Content-Length` over the limit is refused at once, and a chunked
(or lying) body is counted as it streams and refused with 413 as soon as it passes the limit; the
rest is never read. WebSocket frames are capped separately (uvicorn's `ws_max_size`).
"""

from __future__ import annotations

import json

from bot.errors import BodyTooLarge, error_body


def _response_413(limit: int) -> tuple[dict, bytes]:
    body = json.dumps(error_body(BodyTooLarge(
        f"The request body is larger than {limit} bytes, which this service accepts; send less.",
        max_bytes=limit))).encode()
    return ({"type": "http.response.start", "status": 413,
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                         (b"connection", b"close")]}, body)


class BodyLimit:
    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.max_bytes <= 0:
            return await self.app(scope, receive, send)
        limit = self.max_bytes
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = limit + 1
                if declared > limit:
                    return await self._refuse(send, limit)
        seen = 0
        state = {"started": False, "refused": False}

        async def counted_receive():
            nonlocal seen
            if state["refused"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit and not state["started"]:
                    # answer now and tell the app the client left: the rest of the body is never read
                    state["refused"] = True
                    await self._refuse(send, limit)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message):
            if state["refused"]:
                return  # the 413 is the answer; whatever the app says after the "disconnect" is dropped
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)

    @staticmethod
    async def _refuse(send, limit: int) -> None:
        start, body = _response_413(limit)
        await send(start)
        await send({"type": "http.response.body", "body": body})
