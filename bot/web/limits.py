"""What one widget socket may cost the service: frame weights, open sockets per address.

Every frame a client sends, of whatever type, takes its weight from two token buckets
(bot/ratelimit.py): the customer session's (after `hello`) and the client address's (always,
including frames before `hello` and frames that turn out invalid). A frame that does not fit gets
`rate_limited` and does nothing else. The weights reflect what a frame costs: a message or a
`contact` writes to the store, `typing` only reaches the hub. `ws_frame_costs` overrides them.

Open sockets are counted per address (`ws_max_sockets_per_ip`); the count lives in this process,
like the buckets.
"""

from __future__ import annotations

from collections import Counter

DEFAULT_COSTS = {"message": 1.0, "button": 1.0, "contact": 1.0, "handoff": 1.0, "end": 1.0, "hello": 1.0,
                 "feedback": 0.5, "csat": 0.5, "typing": 0.1, "ping": 0.05}
UNKNOWN_COST = 1.0  # unknown types and frames that are not JSON objects


class FrameCosts:
    def __init__(self, overrides: dict[str, float] | None = None):
        self.costs = {**DEFAULT_COSTS, **(overrides or {})}

    def __call__(self, kind: object) -> float:
        return self.costs.get(kind, UNKNOWN_COST) if isinstance(kind, str) else UNKNOWN_COST


class SocketCounter:
    """Open widget sockets per client address."""

    def __init__(self, max_per_address: int):
        self.max = max_per_address
        self._open: Counter[str] = Counter()

    def acquire(self, address: str) -> bool:
        if 0 < self.max <= self._open[address]:
            return False
        self._open[address] += 1
        return True

    def release(self, address: str) -> None:
        self._open[address] -= 1
        if self._open[address] <= 0:
            del self._open[address]

    def open_from(self, address: str) -> int:
        return self._open.get(address, 0)
