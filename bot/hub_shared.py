"""The hub shared by several bot-service replicas: conversation events over Redis pub/sub, or over
PostgreSQL LISTEN/NOTIFY where no Redis is configured (`hub_url`, docs/deployment.md).

Same methods as the in-process `bot.hub.Hub` (subscribe, unsubscribe, publish, subscribers), plus
presence: each replica announces the console users it has online, so every replica counts agents
online the same way.

Invariants:
- `publish` never blocks and never raises: the event goes into this replica's outbox and one writer
  task sends the outbox to the bus in order. Every replica, this one included, delivers an event when
  it comes back from the bus, so all replicas see one order.
- While the bus is unreachable the events of this replica are delivered to its own subscribers at once
  (one replica keeps working) and the bus is retried with back-off; on reconnection the listener
  subscribes again. Events another replica published meanwhile are not replayed live: the widget and the
  console re-read the history from the store when they reconnect.
- Presence is re-announced every `PRESENCE_EVERY_S`; a replica not heard from for 3 rounds (a SIGKILLed
  one) stops counting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import time
import uuid
from typing import Any

from bot.hub import Hub

log = logging.getLogger(__name__)
PRESENCE_EVERY_S = 5.0


class _Bus:
    """A transport: `send(kind, payload)`, and `listen()` yielding ("ready", "") once subscribed, then
    (kind, payload) for every message; kinds: event, presence. `listen` raises when the connection is lost."""

    async def send(self, kind: str, payload: str) -> None: ...

    def listen(self): ...

    async def aclose(self) -> None: ...


class RedisBus(_Bus):
    def __init__(self, url: str):
        import redis.asyncio as redis
        from redis.asyncio.connection import parse_url

        self._redis = redis.from_url(url, socket_connect_timeout=2, socket_timeout=None, health_check_interval=10)
        # pub/sub channels are server-wide, not per database: the database number keeps deployments apart
        self.prefix = f"supportbot:hub:{parse_url(url).get('db', 0)}"

    async def send(self, kind: str, payload: str) -> None:
        await self._redis.publish(f"{self.prefix}:{kind}", payload)

    async def listen(self):
        pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        try:
            await pubsub.subscribe(f"{self.prefix}:event", f"{self.prefix}:presence")
            yield "ready", ""
            async for msg in pubsub.listen():
                if msg["type"] == "message":
                    channel = msg["channel"].decode() if isinstance(msg["channel"], bytes) else msg["channel"]
                    yield channel.rsplit(":", 1)[1], msg["data"]
        finally:
            await pubsub.aclose()

    async def aclose(self) -> None:
        await self._redis.aclose()


class PostgresBus(_Bus):
    """LISTEN/NOTIFY on the platform's own PostgreSQL: no extra server, payloads up to ~8000 bytes."""

    MAX_PAYLOAD = 7900

    def __init__(self, url: str, channel: str = "supportbot_hub"):
        self.url = url.replace("postgresql+psycopg://", "postgresql://")
        self.channel = channel
        self._sender = None

    async def send(self, kind: str, payload: str) -> None:
        import psycopg

        data = f"{kind}:{payload}"
        if len(data.encode()) > self.MAX_PAYLOAD:
            raise ValueError("event larger than PostgreSQL's NOTIFY payload limit")
        if self._sender is None or self._sender.closed:
            self._sender = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=2)
        try:
            await self._sender.execute("SELECT pg_notify(%s, %s)", (self.channel, data))
        except psycopg.Error:
            await self._sender.close()
            self._sender = None
            raise

    async def listen(self):
        import psycopg

        conn = await psycopg.AsyncConnection.connect(self.url, autocommit=True, connect_timeout=2)
        try:
            await conn.execute(f"LISTEN {self.channel}")
            yield "ready", ""
            async for note in conn.notifies():
                kind, _, payload = note.payload.partition(":")
                yield kind, payload
        finally:
            await conn.close()

    async def aclose(self) -> None:
        if self._sender is not None:
            await self._sender.close()


def make_bus(url: str) -> _Bus:
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBus(url)
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        return PostgresBus(url.replace("postgres://", "postgresql://", 1))
    raise ValueError(f"SUPPORTBOT_HUB_URL is {url!r}; use redis://host:6379/2, a postgresql:// URL, "
                     "or leave it empty for the in-process hub of a single replica.")


class SharedHub:
    def __init__(self, bus: _Bus, queue_size: int = 256, outbox_size: int = 10_000):
        self.bus = bus
        self.replica = uuid.uuid4().hex[:12]
        self._local = Hub(queue_size)
        self._outbox: asyncio.Queue = asyncio.Queue(maxsize=outbox_size)
        self._connected = False
        self._tasks: list[asyncio.Task] = []
        self._mine: set = set()  # console users online on this replica
        self._others: dict[str, tuple[set, float]] = {}  # replica -> (users, last heard)

    # --- the in-process hub's interface ------------------------------------------------------
    def subscribe(self, conversation_id: str = "*") -> asyncio.Queue:
        self._ensure_started()
        return self._local.subscribe(conversation_id)

    def unsubscribe(self, conversation_id: str, q: asyncio.Queue) -> None:
        self._local.unsubscribe(conversation_id, q)

    def subscribers(self, conversation_id: str) -> int:
        return self._local.subscribers(conversation_id)

    def publish(self, conversation_id: str, event: dict[str, Any]) -> int:
        self._ensure_started()
        if not self._connected:  # the bus is down: this replica's own subscribers still get it
            return self._local.publish(conversation_id, event)
        try:
            self._outbox.put_nowait((conversation_id, event))
        except asyncio.QueueFull:
            log.error("hub outbox full (%d events); delivering locally only", self._outbox.maxsize)
            return self._local.publish(conversation_id, event)
        return 0

    # --- presence ------------------------------------------------------------------------------
    def share_presence(self, users: set) -> None:
        self._mine = set(users)
        if self._connected:
            self._outbox.put_nowait(None)  # None: announce presence now

    def remote_presence(self) -> set:
        horizon = time.monotonic() - 3 * PRESENCE_EVERY_S
        return set().union(*(users for users, heard in self._others.values() if heard >= horizon))

    # --- running -------------------------------------------------------------------------------
    def _ensure_started(self) -> None:
        if not self._tasks:
            self._tasks = [asyncio.ensure_future(self._listen()), asyncio.ensure_future(self._write()),
                           asyncio.ensure_future(self._announce())]

    async def start(self) -> None:
        """Start the bus tasks and wait (up to 5 s) until this replica listens."""
        self._ensure_started()
        deadline = time.monotonic() + 5.0
        while not self._connected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def aclose(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        await self.bus.aclose()

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                async for kind, payload in self.bus.listen():
                    if kind == "ready":  # subscribed: from now on nothing published is missed
                        delay = 0.2
                        self._mark_connected()
                    else:
                        self._received(kind, payload)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the bus went away: retry with back-off, logged
                if self._connected:
                    log.warning("hub bus lost (%s); delivering locally and resubscribing", exc)
                self._connected = False
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 5.0)

    def _mark_connected(self) -> None:
        if not self._connected:
            self._connected = True
            log.info("hub bus subscribed (replica %s)", self.replica)
            self._outbox.put_nowait(None)

    def _received(self, kind: str, payload: str | bytes) -> None:
        data = json.loads(payload)
        if kind == "event":
            self._local.publish(data["c"], data["e"])
        elif kind == "presence" and data["r"] != self.replica:
            self._others[data["r"]] = (set(data["u"]), time.monotonic())

    async def _write(self) -> None:
        while True:
            item = await self._outbox.get()
            try:
                if item is None:
                    await self.bus.send("presence", json.dumps({"r": self.replica, "u": sorted(self._mine)}))
                else:
                    await self.bus.send("event", json.dumps({"c": item[0], "e": item[1]}, default=str))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - never lose the event for this replica's subscribers
                log.warning("hub publish failed (%s); delivered on this replica only", exc)
                if item is not None:
                    self._local.publish(*item)

    async def _announce(self) -> None:
        while True:
            await asyncio.sleep(PRESENCE_EVERY_S)
            if self._connected:
                self._outbox.put_nowait(None)
