"""The bot service's only door to Rasa: its input channel and HTTP API, over one pooled async client.

Messages go to supportbot's own Rasa channel (rasa_plugins/channel.py, `/webhooks/supportbot/webhook`),
whose answer carries the turn's tracker events with the bot's messages, or, with `channel="rest"`,
to Rasa's REST channel (a Rasa that does not load ours); see `RasaAnswer`.

Every call is async and bounded by a timeout, so one slow conversation never holds up another;
connection failures, 5xx answers and timeouts become `RasaUnavailable` / `RasaTimeout`, which the
channel turns into a polite notice for the customer.

Several Rasa servers (`rasa_urls`, which share the tracker and lock stores): each conversation goes to
one of them, chosen by a stable hash of its id, so its turns queue on one server's lock. A server that
refuses the connection (or does not accept it within `connect_timeout_s`) is marked down for `down_s`
and the call goes to the next one. Invariant: a POST is sent again only when it certainly never
reached a server (the connection was never made); a connection that breaks after the request was
written, or a timeout, may have reached Rasa, and is reported as today (the customer gets the notice,
the turn is marked unanswered). GETs (the tracker) are idempotent and go to the next server on any
transport failure. Servers marked down are tried last, not never: when all are down, all are tried.

The client is aiohttp's: one request costs it about 0.07 ms of CPU against httpx's 0.44 ms, and this
call is on every customer message's path, on the same cores as Rasa (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.errors import RasaTimeout, RasaUnavailable

__all__ = ["RasaAnswer", "RasaClient", "RasaTimeout", "RasaUnavailable"]
WEBHOOKS = {"supportbot": "/webhooks/supportbot/webhook", "rest": "/webhooks/rest/webhook"}


@dataclass
class RasaAnswer:
    messages: list[dict]  # the bot's messages in order, as Rasa's REST channel returns them
    events: list[dict] | None = None  # the turn's tracker events (supportbot channel); None: read the tracker


class _NotReached(Exception):
    """The connection to one Rasa server was never made: the request did not reach it."""


class _Broken(Exception):
    """The connection to one Rasa server broke: the request may or may not have reached it."""


class RasaClient:
    def __init__(self, base_url: str | list[str], timeout_s: float = 10.0, max_connections: int = 200,
                 channel: str = "supportbot", token: str = "", connect_timeout_s: float = 2.0, down_s: float = 2.0):
        if channel not in WEBHOOKS:
            raise ValueError(f"Unknown Rasa channel {channel!r}; use one of {sorted(WEBHOOKS)}.")
        urls = [base_url] if isinstance(base_url, str) else list(base_url)
        self.base_urls = list(dict.fromkeys(u.rstrip("/") for u in urls if u))
        if not self.base_urls:
            raise ValueError("No Rasa URL: set SUPPORTBOT_RASA_URL (or SUPPORTBOT_RASA_URLS, a JSON list).")
        self.base_url = self.base_urls[0]
        self.connect_timeout_s = connect_timeout_s
        self.down_s = down_s
        self._down_until: dict[str, float] = {}  # a server that refused a connection, skipped until then
        self._turn = itertools.count()
        self.channel = channel
        self._token = {"token": token} if token else {}  # Rasa's --auth-token, sent as ?token= on its API
        self._no_channel = (f"Rasa at {', '.join(self.base_urls)} has no supportbot channel ({WEBHOOKS[channel]} is not found): "
                            "list `rasa_plugins.channel.TurnInput:` in its credentials.yml (as `supportbot up` does), "
                            "or set SUPPORTBOT_NLU_DETAILS_SOURCE=tracker_store to talk to its REST channel."
                            if channel == "supportbot" else None)
        self.timeout_s = timeout_s
        self._max_connections = max_connections
        # one pooled session per event loop: a ClientSession belongs to the loop it was made in. The
        # service has one loop; tests and scripts that call the client under asyncio.run() bring others.
        self._clients: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def _forget_closed_loops(self) -> None:
        for loop in [lp for lp in self._clients if lp.is_closed()]:
            del self._clients[loop]  # its loop is gone, and its connections with it

    def _http(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None or client.closed:
            self._forget_closed_loops()
            connector = aiohttp.TCPConnector(limit=self._max_connections, ttl_dns_cache=300)
            client = self._clients[loop] = aiohttp.ClientSession(connector=connector, json_serialize=json.dumps)
        return client

    def order(self, key: str | None = None) -> list[str]:
        """The servers to try for one call: from the conversation's own (a stable hash of `key`; without
        a key, in turn), live ones first, those marked down last."""
        n = len(self.base_urls)
        k = (zlib.crc32(key.encode()) if key is not None else next(self._turn)) % n
        ring = self.base_urls[k:] + self.base_urls[:k]
        now = time.monotonic()
        return sorted(ring, key=lambda u: self._down_until.get(u, 0.0) > now)  # stable: the ring order stays

    def _mark(self, url: str, up: bool) -> None:
        if up:
            self._down_until.pop(url, None)
        else:
            self._down_until[url] = time.monotonic() + self.down_s

    async def _request(self, method: str, path: str, timeout_s: float | None = None, not_found: str | None = None,
                       key: str | None = None, **kwargs: Any) -> Any:
        """One call, to the first server that takes it; every failure is a RasaUnavailable/RasaTimeout
        (`not_found`: its message for an HTTP 404). See the module docstring for when it tries the next."""
        tried = []
        for url in self.order(key):
            try:
                return await self._request_one(url, method, path, timeout_s, not_found, **kwargs)
            except _NotReached as exc:
                self._mark(url, up=False)
                tried.append(f"{url} ({exc})")
            except _Broken as exc:
                self._mark(url, up=False)
                if method != "GET":  # it may have reached Rasa: never sent twice
                    raise RasaUnavailable(f"Rasa at {url} broke the connection during {method} {path} ({exc}); "
                                          "not sent again, it may have arrived.") from exc
                tried.append(f"{url} ({exc})")
        raise RasaUnavailable(f"No Rasa server is reachable: {'; '.join(tried)}.")

    async def _request_one(self, url: str, method: str, path: str, timeout_s: float | None, not_found: str | None,
                           **kwargs: Any) -> Any:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        limits = aiohttp.ClientTimeout(total=timeout, sock_connect=min(timeout, self.connect_timeout_s))
        try:
            async with self._http().request(method, url + path, timeout=limits, **kwargs) as r:
                status, body = r.status, await r.read()
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
            raise _NotReached(type(exc).__name__) from exc  # no connection was made: nothing was written
        except TimeoutError as exc:
            raise RasaTimeout(f"Rasa did not answer {method} {path} within {timeout:.1f}s.") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise _Broken(type(exc).__name__) from exc
        self._mark(url, up=True)
        if status == 404 and not_found:
            raise RasaUnavailable(not_found)
        if status >= 500:
            raise RasaUnavailable(f"Rasa answered {method} {path} with HTTP {status}.")
        if status >= 400:
            raise RasaUnavailable(f"Rasa rejected {method} {path} (HTTP {status}): "
                                  f"{body[:200].decode('utf-8', 'replace')}")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise RasaUnavailable(f"Rasa answered {method} {path} with something that is not JSON.") from exc

    async def send(self, sender_id: str, text: str, metadata: dict | None = None,
                   timeout_s: float | None = None) -> RasaAnswer:
        """Post one customer message to the channel; returns the bot's messages (and the turn's events)."""
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        answer = await self._request("POST", WEBHOOKS[self.channel], timeout_s, json=body,
                                     not_found=self._no_channel, key=sender_id)
        if self.channel == "rest":
            answer = {"messages": answer, "events": None}
        messages, events = (answer.get("messages"), answer.get("events")) if isinstance(answer, dict) else (None, None)
        if not isinstance(messages, list):
            raise RasaUnavailable(f"Rasa's {self.channel} channel answered with something that is not a list of "
                                  "messages.")
        return RasaAnswer(messages, events if isinstance(events, list) else None)

    async def tracker(self, sender_id: str, include_events: str = "AFTER_RESTART") -> dict:
        """The conversation's tracker: NLU parse data, actions and bot events (no second NLU call)."""
        return await self._request("GET", f"/conversations/{quote(sender_id, safe='')}/tracker", key=sender_id,
                                   params={"include_events": include_events, **self._token})

    async def append_event(self, sender_id: str, event: dict) -> dict:
        """Append an event such as {"event": "pause"} / {"event": "resume"} to the tracker."""
        return await self._request("POST", f"/conversations/{quote(sender_id, safe='')}/tracker/events",
                                   json=event, params={"include_events": "NONE", **self._token}, key=sender_id)

    async def health(self) -> bool:
        """True when at least one Rasa server answers and has a model loaded (see `servers_up`)."""
        return any(await self.servers_up())

    async def servers_up(self) -> list[bool]:
        """Each server's health, in `base_urls` order; a server found down is tried last until it is up."""
        return list(await asyncio.gather(*[self._healthy(url) for url in self.base_urls]))

    async def _healthy(self, url: str) -> bool:
        try:
            status = await self._request_one(url, "GET", "/status", min(self.timeout_s, 3.0), None, params=self._token)
        except (RasaUnavailable, _NotReached, _Broken):
            self._mark(url, up=False)
            return False
        return bool(status.get("model_file") or status.get("model_id"))

    async def aclose(self) -> None:
        """Close this loop's session (and forget those of loops that are gone)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()
        self._forget_closed_loops()
