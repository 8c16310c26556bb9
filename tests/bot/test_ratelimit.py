"""The token bucket behind the per-session and per-IP limits (time is passed in, not slept)."""

from __future__ import annotations

import pytest

from bot.errors import RateLimited
from bot.ratelimit import RateLimiter


def test_burst_then_refill_at_the_sustained_rate():
    limit = RateLimiter(per_minute=60, burst=3, what="per conversation")
    for _ in range(3):
        limit.hit("s1", now=100.0)
    with pytest.raises(RateLimited) as caught:
        limit.hit("s1", now=100.0)
    assert caught.value.retry_after_s == pytest.approx(1.0)
    assert "wait 1 s" in str(caught.value)
    limit.hit("s2", now=100.0)  # other keys are independent
    limit.hit("s1", now=101.0)  # one token back after one second
    with pytest.raises(RateLimited):
        limit.hit("s1", now=101.5)


def test_zero_disables_and_idle_keys_are_swept():
    RateLimiter(per_minute=0, burst=1, what="x").hit("k", now=0.0)
    limit = RateLimiter(per_minute=60, burst=2, what="x", max_keys=3)
    for key in "abc":
        limit.hit(key, now=0.0)
    limit.hit("d", now=10.0)  # a, b, c are full again: forgotten
    assert len(limit) == 1
