"""Rate limits shared by replicas through a real Redis (the test's own): one budget for a key across
replicas; with Redis gone each replica limits on its own for a while, logged, and nobody is refused for it."""

from __future__ import annotations

import logging

import pytest

from bot.errors import RateLimited
from bot.ratelimit import RateLimiter
from bot.ratelimit_shared import SharedRateLimiter, make_limiter


def test_two_replicas_share_one_budget(redis_server):
    a = SharedRateLimiter(per_minute=6, burst=3, what="per conversation", storage_url=redis_server.url(3))
    b = SharedRateLimiter(per_minute=6, burst=3, what="per conversation", storage_url=redis_server.url(3))
    a.hit("session-1")
    a.hit("session-1")
    b.hit("session-1")  # the third token, taken on the other replica
    with pytest.raises(RateLimited) as info:
        b.hit("session-1")
    assert info.value.retry_after_s > 0 and "per conversation" in str(info.value)
    with pytest.raises(RateLimited):
        a.hit("session-1")
    b.hit("session-2")  # another key has its own budget


def test_fractional_costs_add_up(redis_server):
    limiter = SharedRateLimiter(per_minute=60, burst=1, what="from your network", storage_url=redis_server.url(3))
    for _ in range(10):
        limiter.hit("10.0.0.1", cost=0.1)
    with pytest.raises(RateLimited):
        limiter.hit("10.0.0.1", cost=0.1)


def test_redis_gone_limits_locally_for_a_while_and_says_so(redis_server, caplog):
    limiter = SharedRateLimiter(per_minute=6, burst=2, what="per conversation", storage_url=redis_server.url(3),
                                fallback_s=60)
    limiter.hit("s")
    redis_server.kill()
    with caplog.at_level(logging.WARNING, logger="bot.ratelimit_shared"):
        limiter.hit("s")  # not refused because Redis is down
    assert "limiting per conversation on this replica only" in caplog.text
    limiter.hit("s")
    with pytest.raises(RateLimited):  # still limited: by this replica's own bucket (burst 2)
        limiter.hit("s")


def test_one_replica_keeps_the_in_memory_buckets():
    assert isinstance(make_limiter(30, 10, "per conversation", ""), RateLimiter)
