"""A throwaway `redis-server` of the test's own (bot/throwaway.py), which tests may kill and start again
on the same port without touching the shared Redis. Registered in tests/conftest.py."""

from __future__ import annotations

import pytest

from bot.throwaway import RedisServer
from tests.support import free_port


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(free_port(), tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()
