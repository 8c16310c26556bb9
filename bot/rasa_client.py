"""The bot service's only door to Rasa: its REST channel and HTTP API, over one pooled async client.

Every call is async and bounded by a timeout, so one slow conversation never holds up another;
connection failures, 5xx answers and timeouts become `RasaUnavailable` / `RasaTimeout`, which the
channel turns into a polite notice for the customer.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

from bot.errors import RasaTimeout, RasaUnavailable

__all__ = ["RasaClient", "RasaTimeout", "RasaUnavailable"]


class RasaClient:
    def __init__(self, base_url: str, timeout_s: float = 10.0, max_connections: int = 200):
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self._max_connections = max_connections
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        # Built lazily: an AsyncClient belongs to the event loop that first uses it.
        if self._client is None:
            limits = httpx.Limits(max_connections=self._max_connections,
                                  max_keepalive_connections=self._max_connections)
            self._client = httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=self.timeout_s)
        return self._client

    async def _request(self, method: str, path: str, timeout_s: float | None = None, **kwargs: Any) -> Any:
        timeout = self.timeout_s if timeout_s is None else timeout_s
        try:
            r = await self._http().request(method, path, timeout=timeout, **kwargs)
        except httpx.TimeoutException as exc:
            raise RasaTimeout(f"Rasa did not answer {method} {path} within {timeout:.1f}s.") from exc
        except httpx.HTTPError as exc:
            raise RasaUnavailable(f"Rasa at {self.base_url} is unreachable ({type(exc).__name__}).") from exc
        if r.status_code >= 500:
            raise RasaUnavailable(f"Rasa answered {method} {path} with HTTP {r.status_code}.")
        if r.status_code >= 400:
            raise RasaUnavailable(f"Rasa rejected {method} {path} (HTTP {r.status_code}): {r.text[:200]}")
        try:
            return r.json()
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
        if self._client is not None:
            await self._client.aclose()
            self._client = None
