"""The bot service's Rasa client over several Rasa servers, on real sockets: a server that refuses the
connection is skipped (the message goes to the next one, once), a server that broke the connection after
the request was written is never sent the message again elsewhere, and each conversation keeps to one server.

The servers are small real HTTP servers speaking the channel's answer format; the SIGKILLed real Rasa is
tests/contract/test_failover.py.
"""

from __future__ import annotations

import asyncio
import json

import pytest
from aiohttp import web

from bot.rasa_client import RasaClient, RasaUnavailable
from tests.support import free_port


class Channel:
    """A real HTTP server answering the supportbot channel and the tracker API, counting what it got."""

    def __init__(self, name: str):
        self.name = name
        self.got: list[tuple[str, str]] = []  # (sender, text) of every message that arrived
        self.port = free_port()
        self.runner: web.AppRunner | None = None

    async def start(self) -> Channel:
        app = web.Application()
        app.router.add_post("/webhooks/supportbot/webhook", self.webhook)
        app.router.add_get("/conversations/{sender}/tracker", self.tracker)
        app.router.add_get("/status", self.status)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def webhook(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.got.append((body["sender"], body["message"]))
        return web.json_response({"messages": [{"text": f"{self.name} heard {body['message']}"}], "events": []})

    async def tracker(self, request: web.Request) -> web.Response:
        return web.json_response({"sender_id": request.match_info["sender"], "events": [], "served_by": self.name})

    async def status(self, _request: web.Request) -> web.Response:
        return web.json_response({"model_file": "tiny.tar.gz"})

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class Breaker:
    """A real TCP server that reads a whole request and closes the connection without answering:
    a Rasa killed while it worked on the message (which may have reached its tracker)."""

    def __init__(self):
        self.port = free_port()
        self.requests = 0
        self.server: asyncio.base_events.Server | None = None

    async def start(self) -> Breaker:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(
            b"content-length")), 0)
        await reader.readexactly(length)
        self.requests += 1
        writer.transport.abort()  # reset, nothing answered

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()


def refused_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: the connection is refused


def sender_for(client: RasaClient, first: str) -> str:
    """A conversation id whose own server (the first in its order) is `first`."""
    return next(s for s in (f"conv-{i}" for i in range(1000)) if client.order(s)[0] == first)


async def test_a_refused_server_is_skipped_and_the_message_arrives_once_at_the_next():
    live = await Channel("live").start()
    dead = refused_url()
    client = RasaClient([dead, live.url], timeout_s=5)
    try:
        sender = sender_for(client, dead)
        answer = await client.send(sender, "hello")
        assert answer.messages == [{"text": "live heard hello"}]
        assert live.got == [(sender, "hello")]
        # marked down: the next calls go straight to the live server, then it is tried again
        assert client.order(sender) == [live.url, dead]
        assert await client.servers_up() == [False, True] and await client.health() is True
    finally:
        await client.aclose()
        await live.stop()


async def test_a_connection_broken_after_the_request_was_written_is_never_sent_again():
    breaker = await Breaker().start()
    live = await Channel("live").start()
    client = RasaClient([breaker.url, live.url], timeout_s=5)
    try:
        sender = sender_for(client, breaker.url)
        with pytest.raises(RasaUnavailable, match="not sent again"):
            await client.send(sender, "block my card")
        assert breaker.requests == 1 and live.got == []  # it may have arrived: not doubled on another server
        # the broken server is now tried last: the conversation's next message goes to the live one
        assert client.order(sender) == [live.url, breaker.url]
        assert (await client.send(sender, "hello")).messages == [{"text": "live heard hello"}]
        assert live.got == [(sender, "hello")] and breaker.requests == 1
        # the tracker (a GET) is safe to ask again: a client that knows nothing yet goes on to the next server
        # (aiohttp itself tries an idempotent GET once more on the same server first; never a POST)
        fresh = RasaClient([breaker.url, live.url], timeout_s=5)
        try:
            assert (await fresh.tracker(sender))["served_by"] == "live" and breaker.requests > 1
        finally:
            await fresh.aclose()
    finally:
        await client.aclose()
        await live.stop()
        await breaker.stop()


async def test_each_conversation_keeps_to_one_server_and_the_conversations_are_spread():
    servers = [await Channel(f"r{i}").start() for i in range(2)]
    client = RasaClient([s.url for s in servers], timeout_s=5)
    try:
        for i in range(20):
            for turn in range(3):
                await client.send(f"conversation-{i}", f"message {turn}")
        by_sender: dict[str, set[str]] = {}
        for s in servers:
            for sender, _text in s.got:
                by_sender.setdefault(sender, set()).add(s.name)
        assert len(by_sender) == 20 and all(len(names) == 1 for names in by_sender.values())
        assert all(len(s.got) >= 3 * 4 for s in servers), [len(s.got) for s in servers]  # both get a share
    finally:
        await client.aclose()
        for s in servers:
            await s.stop()


async def test_every_server_down_is_one_clear_error_naming_each():
    urls = [refused_url(), refused_url()]
    client = RasaClient(urls, timeout_s=5)
    try:
        with pytest.raises(RasaUnavailable, match="No Rasa server is reachable") as info:
            await client.send("c", "hello")
        assert all(u in str(info.value) for u in urls)
        assert await client.health() is False
    finally:
        await client.aclose()


def test_the_bot_service_reads_the_rasa_urls_from_its_settings(monkeypatch):
    from bot.app import build_services
    from core.settings import Settings

    monkeypatch.setenv("SUPPORTBOT_RASA_URLS", json.dumps(["http://127.0.0.1:7001/", "http://127.0.0.1:7002"]))
    services = build_services(Settings(database_url="sqlite://"))
    assert services.rasa.base_urls == ["http://127.0.0.1:7001", "http://127.0.0.1:7002"]
    services.db.dispose()
    one = build_services(Settings(database_url="sqlite://", rasa_url="http://127.0.0.1:7009", rasa_urls=[]))
    assert one.rasa.base_urls == ["http://127.0.0.1:7009"]
    one.db.dispose()
