"""Rate limits shared by every bot-service replica: the same `hit(key, cost)` as `bot.ratelimit.RateLimiter`,
counted in Redis through the `limits` library (`ratelimit_url`), so a customer or an address spread over
several replicas gets one budget, not one per replica.

The token bucket (`burst` tokens refilled at `per_minute`) becomes a sliding window of `burst` tokens per
`burst / rate` seconds: the same sustained rate and the same largest burst. Costs are counted in tenths
(frame weights below one token stay exact).

Invariant: Redis being unreachable never refuses a customer and never stalls the event loop for long
(0.2 s socket timeouts). The first failure is logged and, for `fallback_s`, this replica limits with its
own in-memory buckets instead (per replica, as with one replica), then tries Redis again.
"""

from __future__ import annotations

import logging
import time

from bot.errors import RateLimited
from bot.ratelimit import RateLimiter

log = logging.getLogger(__name__)
SCALE = 10  # limits counts whole units: costs in tenths of a token


class SharedRateLimiter:
    def __init__(self, per_minute: float, burst: int, what: str, storage_url: str, fallback_s: float = 30.0,
                 namespace: str = "supportbot:limit"):
        from limits import RateLimitItemPerSecond
        from limits.storage import storage_from_string
        from limits.strategies import SlidingWindowCounterRateLimiter

        self.rate = per_minute / 60.0
        self.burst = max(burst, 1)
        self.what = what
        self.namespace = f"{namespace}:{what}"
        window_s = max(1, round(self.burst / self.rate)) if self.rate > 0 else 1
        self.item = RateLimitItemPerSecond(self.burst * SCALE, window_s)
        self.storage = storage_from_string(storage_url, socket_connect_timeout=0.2, socket_timeout=0.2)
        self.limiter = SlidingWindowCounterRateLimiter(self.storage)
        self.local = RateLimiter(per_minute, burst, what)
        self.fallback_s = fallback_s
        self._local_until = 0.0

    def hit(self, key: str, cost: float = 1.0, now: float | None = None) -> None:
        """Take `cost` tokens for `key` from the shared budget, or raise RateLimited saying how long to wait."""
        if self.rate <= 0:
            return  # limit disabled
        if time.monotonic() < self._local_until:
            return self.local.hit(key, cost, now)
        units = max(1, round(min(float(cost), self.burst) * SCALE))
        try:
            allowed = self.limiter.hit(self.item, self.namespace, key, cost=units)
            wait = 0.0 if allowed else self.limiter.get_window_stats(self.item, self.namespace, key).reset_time \
                - time.time()
        except Exception as exc:  # noqa: BLE001 - any Redis failure: limit locally for a while, logged
            log.warning("shared rate limit unavailable (%s: %s); limiting %s on this replica only for %.0f s",
                        type(exc).__name__, exc, self.what, self.fallback_s)
            self._local_until = time.monotonic() + self.fallback_s
            return self.local.hit(key, cost, now)
        if not allowed:
            wait = max(0.5, wait)
            raise RateLimited(f"You're sending messages too fast ({self.what}); "
                              f"please wait {max(1, round(wait))} s and try again.", retry_after_s=wait)


def make_limiter(per_minute: float, burst: int, what: str, url: str):
    """In memory for one replica (`url` empty), else shared through Redis."""
    if not url:
        return RateLimiter(per_minute, burst, what)
    return SharedRateLimiter(per_minute, burst, what, url)
