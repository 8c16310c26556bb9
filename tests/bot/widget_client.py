"""A small WebSocket client speaking docs/websocket-protocol.md, as the widget does, for the tests."""

from __future__ import annotations

import asyncio
import json
import uuid

import websockets


class WidgetClient:
    def __init__(self, ws):
        self.ws = ws
        self.session: dict = {}
        self.history: dict = {}

    @classmethod
    async def open(cls, ws_url: str, token: str | None = None, origin: str | None = None,
                   hello: bool = True) -> WidgetClient:
        client = cls(await websockets.connect(ws_url, origin=origin, max_size=1 << 21))
        if hello:
            await client.hello(token)
        return client

    async def hello(self, token: str | None = None) -> None:
        await self.send({"type": "hello", "token": token})
        self.session = await self.next("session")
        self.history = await self.next("history")

    @property
    def token(self) -> str | None:
        return self.session.get("token")

    async def send(self, event: dict) -> None:
        await self.ws.send(json.dumps(event))

    async def next(self, kind: str | None = None, timeout: float = 10.0, **match) -> dict:
        """The next event (of this type and with these fields), skipping others."""
        async def wait() -> dict:
            while True:
                ev = json.loads(await self.ws.recv())
                if (kind is None or ev.get("type") == kind) and all(ev.get(k) == v for k, v in match.items()):
                    return ev
        return await asyncio.wait_for(wait(), timeout)

    async def say(self, text: str, client_msg_id: str | None = None, until: str = "typing", timeout: float = 15.0,
                  **extra) -> list[dict]:
        """Send a message; every event up to the end of its answer (`typing` off, or just the `ack`
        when a person has the conversation), or up to an error about it."""
        msg_id = client_msg_id or uuid.uuid4().hex
        await self.send({"type": extra.pop("type", "message"), "text": text, "client_msg_id": msg_id, **extra})
        events: list[dict] = []

        async def collect() -> None:
            while True:
                ev = json.loads(await self.ws.recv())
                events.append(ev)
                mine = ev.get("client_msg_id") == msg_id
                if mine and (ev["type"] == "error" or ev["type"] == until == "ack"
                             or (ev["type"] == "typing" and ev.get("on") is False and until == "typing")):
                    return

        await asyncio.wait_for(collect(), timeout)
        return events

    async def close(self) -> None:
        await self.ws.close()


def bot_messages(events: list[dict]) -> list[dict]:
    return [e for e in events if e["type"] == "message" and e.get("speaker") == "bot"]


def bot_texts(events: list[dict]) -> list[str]:
    return [e["text"] for e in bot_messages(events)]


def of_type(events: list[dict], kind: str) -> list[dict]:
    return [e for e in events if e["type"] == kind]
