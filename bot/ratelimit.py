"""Token-bucket rate limits, per customer session and per client IP.

A bucket holds `burst` tokens and refills at `per_minute / 60` tokens a second; each message
takes one, other WebSocket frames their own weight (bot/web/limits.py). `hit(key, cost)` is the
whole interface, so the buckets can move to a shared store (Redis) without touching the callers. In memory, like the hub: one bot-service process per deployment (several replicas would
move the buckets to Redis). Idle buckets are swept so the table stays small.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from bot.errors import RateLimited


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, per_minute: float, burst: int, what: str, max_keys: int = 100_000):
        self.rate = per_minute / 60.0
        self.burst = float(max(burst, 1))
        self.what = what
        self.max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def hit(self, key: str, cost: float = 1.0, now: float | None = None) -> None:
        """Take `cost` tokens for `key`, or raise RateLimited saying how long to wait (nothing is taken)."""
        if self.rate <= 0:
            return  # limit disabled
        now = time.monotonic() if now is None else now
        b = self._buckets.get(key)
        if b is None:
            if len(self._buckets) >= self.max_keys:
                self._sweep(now)
            b = self._buckets[key] = _Bucket(self.burst, now)
        b.tokens = min(self.burst, b.tokens + (now - b.stamp) * self.rate)
        b.stamp = now
        cost = min(float(cost), self.burst)
        if b.tokens < cost:
            wait = (cost - b.tokens) / self.rate
            raise RateLimited(f"You're sending messages too fast ({self.what}); "
                              f"please wait {max(1, round(wait))} s and try again.", retry_after_s=wait)
        b.tokens -= cost

    def _sweep(self, now: float) -> None:
        full_after = self.burst / self.rate
        for key in [k for k, b in self._buckets.items() if now - b.stamp > full_after]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)
