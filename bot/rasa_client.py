"""The bot service's only door to Rasa: its REST channel and HTTP API, over one pooled async client.

Every call is async and bounded by a timeout, so one slow conversation never holds up another;
connection failures, 5xx answers and timeouts become `RasaUnavailable` / `RasaTimeout`, which the
channel turns into a polite notice for the customer.

The client is aiohttp's: one request costs it about 0.07 ms of CPU against httpx's 0.44 ms, and this
call is on every customer message's path, on the same cores as Rasa (docs/benchmarks.md).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.errors import RasaTimeout, RasaUnavailable

__all__ = ["RasaClient", "RasaTimeout", "RasaUnavailable"]


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0, max_connections: int = 200):
        self.base_url = base_url.rstrip("/")
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

    async def _request(self, method: str, path: str, timeout_s: float | None = None, **kwargs: Any) -> Any:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            async with self._http().request(method, self.base_url + path, timeout=aiohttp.ClientTimeout(total=timeout),
                                            **kwargs) as r:
                status, body = r.status, await r.read()
        except asyncio.TimeoutError as exc:
            raise RasaTimeout(f"Rasa did not answer {method} {path} within {timeout:.1f}s.") from exc
        except (aiohttp.ClientError, OSError) as exc:
            raise RasaUnavailable(f"Rasa at {self.base_url} is unreachable ({type(exc).__name__}).") from exc
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
                   timeout_s: float | None = None) -> list[dict]:
        """Post one customer message to the REST channel; returns the bot's messages in order."""
        body: dict[str, Any] = {"sender": sender_id, "message": text}
        if metadata:
            body["metadata"] = metadata
        replies = await self._request("POST", "/webhooks/rest/webhook", timeout_s, json=body)
        if not isinstance(replies, list):
            raise RasaUnavailable("Rasa's REST channel answered with something that is not a list.")
        return replies

    async def tracker(self, sender_id: str, include_events: str = "AFTER_RESTART") -> dict:
        """The conversation's tracker: NLU parse data, actions and bot events (no second NLU call)."""
        return await self._request("GET", f"/conversations/{quote(sender_id, safe='')}/tracker",
                                   params={"include_events": include_events})

    async def append_event(self, sender_id: str, event: dict) -> dict:
        """Append an event such as {"event": "pause"} / {"event": "resume"} to the tracker."""
        return await self._request("POST", f"/conversations/{quote(sender_id, safe='')}/tracker/events",
                                   json=event, params={"include_events": "NONE"})

    async def health(self) -> bool:
        """True when Rasa answers and has a model loaded."""
        try:
            status = await self._request("GET", "/status", timeout_s=min(self.timeout_s, 3.0))
        except RasaUnavailable:
            return False
        return bool(status.get("model_file") or status.get("model_id"))

    async def aclose(self) -> None:
        """Close this loop's session (and forget those of loops that are gone)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()
        self._forget_closed_loops()
