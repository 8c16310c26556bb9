"""Fixtures shared by every test package: real SQLite files and a real PostgreSQL database."""

from __future__ import annotations

import os
import uuid

import pytest

# the tiny real Rasa bot shared by the bot-service and console tests
pytest_plugins = ["tests.tiny_rasa", "tests.pg_cluster", "tests.redis_server"]

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

# The PostgreSQL server the store tests run against. CI and development machines run one at
# 127.0.0.1:5432; unreachable means the tests fail (they never skip it).
POSTGRES_ADMIN_URL = os.environ.get(
    "SUPPORTBOT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(scope="session")
def onnx_dir(tmp_path_factory):
    """The default encoder exported to ONNX by our exporter, once per session (about 30 s on 2 cores):
    the NLU tests' encoder and the export base response models reuse."""
    from core.settings import default_encoder_path
    from nlu.export import export_onnx

    out = tmp_path_factory.mktemp("nlu") / "encoder-onnx"
    manifest = export_onnx(default_encoder_path(), out)
    assert manifest["skipped"] is False
    return out


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'supportbot.db'}"


@pytest.fixture
def postgres_url():
    """A fresh, uniquely named PostgreSQL database for one test, dropped afterwards."""
    import psycopg

    admin = POSTGRES_ADMIN_URL
    name = f"supportbot_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is unreachable at {admin} ({exc}). Start it, or point "
            "SUPPORTBOT_TEST_POSTGRES_URL at a server where the tests may create databases."
        )
    base = admin.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgres"])
def db_url(request, tmp_path):
    """Runs a test once against a SQLite file and once against a real PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'supportbot.db'}"
    return request.getfixturevalue("postgres_url")
