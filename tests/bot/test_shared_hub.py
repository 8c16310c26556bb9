"""The hub several replicas share, on a real Redis and a real PostgreSQL of the test's own: events
cross replicas, presence is counted across them, and a restarted server is resubscribed to."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.hub_shared import SharedHub, make_bus


async def next_event(q: asyncio.Queue, timeout: float = 10.0) -> dict:
    return await asyncio.wait_for(q.get(), timeout)


async def until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def crosses_replicas(url: str, restart) -> None:
    a, b = SharedHub(make_bus(url)), SharedHub(make_bus(url))
    await a.start()
    await b.start()
    try:
        on_b = b.subscribe("conv-1")
        everything_on_a = a.subscribe()
        a.publish("conv-1", {"type": "message", "text": "from A"})
        assert (await next_event(on_b))["text"] == "from A"
        assert (await next_event(everything_on_a))["conversation_id"] == "conv-1"  # back from the bus

        b.share_presence({7})
        await until(lambda: a.remote_presence() == {7})

        await restart()  # the server goes away and comes back: both resubscribe by themselves
        a.publish("conv-1", {"type": "message", "text": "while it restarts"})  # A's own subscribers still get it
        assert (await next_event(everything_on_a))["text"] == "while it restarts"
        await until(lambda: a._connected and b._connected)
        await until(lambda: a.remote_presence() == {7})
        while not on_b.empty():
            on_b.get_nowait()
        a.publish("conv-1", {"type": "message", "text": "after"})
        assert (await next_event(on_b))["text"] == "after"
    finally:
        await a.aclose()
        await b.aclose()


async def test_redis_hub_crosses_replicas_and_survives_a_redis_restart(redis_server):
    async def restart():
        redis_server.kill()
        await asyncio.sleep(0)
        await asyncio.to_thread(redis_server.start)

    await crosses_replicas(redis_server.url(), restart)


@pytest.mark.postgres
async def test_postgres_hub_crosses_replicas_and_survives_a_postgres_restart(pg_cluster):
    async def restart():
        await asyncio.to_thread(pg_cluster.stop)
        await asyncio.to_thread(pg_cluster.start)

    await crosses_replicas(pg_cluster.url, restart)


def test_a_hub_url_of_another_kind_is_refused_with_what_to_use():
    with pytest.raises(ValueError, match="redis://host:6379/2"):
        make_bus("amqp://guest@localhost")
