"""A throwaway PostgreSQL cluster of the test's own (bot/throwaway.py), which tests may stop and restart
without touching the shared server the other tests use. Registered in tests/conftest.py."""

from __future__ import annotations

import pytest

from bot.throwaway import PgCluster
from tests.support import free_port


@pytest.fixture
def pg_cluster():
    """A fresh PostgreSQL cluster on a free port; stopped and deleted afterwards."""
    cluster = PgCluster(free_port()).init()
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.remove()
