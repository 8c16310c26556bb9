"""In-process publish/subscribe of conversation events.

The widget channel, the handoff queue and the console all meet here: whoever appends a turn
publishes an event for that conversation; each open WebSocket (a customer's widget, an agent's
console tab) holds a subscription. Events are plain dicts shaped like the WebSocket protocol
(docs/websocket-protocol.md). This in-process hub serves a single bot-service replica; several
replicas share `bot.hub_shared.SharedHub` (Redis pub/sub or PostgreSQL LISTEN/NOTIFY, `hub_url`),
which has the same methods.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

ALL = "*"  # subscribe to every conversation (console lists, queues)


class Hub:
    def __init__(self, queue_size: int = 256):
        self._subs: dict[str, set[asyncio.Queue]] = defaultdict(set)
        self._queue_size = queue_size

    def subscribe(self, conversation_id: str = ALL) -> asyncio.Queue:
        q: asyncio.Queue = asyncio.Queue(maxsize=self._queue_size)
        self._subs[conversation_id].add(q)
        return q

    def unsubscribe(self, conversation_id: str, q: asyncio.Queue) -> None:
        subs = self._subs.get(conversation_id)
        if subs is not None:
            subs.discard(q)
            if not subs:
                self._subs.pop(conversation_id, None)

    def publish(self, conversation_id: str, event: dict[str, Any]) -> int:
        """Deliver to the conversation's subscribers and to ALL; returns how many got it.

        A subscriber too slow to keep `queue_size` events is dropped from that event (it can
        replay the history from the store), never allowed to block the publisher.
        """
        event = {**event, "conversation_id": conversation_id}
        delivered = 0
        for key in (conversation_id, ALL):
            for q in list(self._subs.get(key, ())):
                try:
                    q.put_nowait(event)
                    delivered += 1
                except asyncio.QueueFull:
                    pass
        return delivered

    def subscribers(self, conversation_id: str) -> int:
        return len(self._subs.get(conversation_id, ()))

    # --- what a shared hub adds; nothing to do in one process ------------------------------------
    def share_presence(self, users: set) -> None:
        """The console users online on this replica (a shared hub tells the other replicas)."""

    def remote_presence(self) -> set:
        """Console users online on other replicas: none, there are none."""
        return set()

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
