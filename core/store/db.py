"""Engine and session handling, and applying the Alembic migrations.

`Database(url)` is cheap to build; `migrate()` brings the schema to the newest revision.
SQLite files get WAL and foreign keys; PostgreSQL gets a pre-ping pool. Every engine hides bound
parameters in its error messages (`hide_parameters`): a failed INSERT of a turn must not put the
customer's text into a log line or a traceback.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATION_LOCK = 0x5B0_7D8  # PostgreSQL advisory lock key held while migrating


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time, and a writer that finds the file locked polls with growing
        # sleeps (1, 2, 5 ... 100 ms), so under a burst some writers lose every race for seconds. This
        # process's hot-path writers queue here instead and go as soon as the one before commits.
        self._write_turn = threading.Lock() if self.engine.dialect.name == "sqlite" else None

    def migrate(self) -> None:
        """Apply every Alembic migration up to head (idempotent)."""
        from alembic import command

        cfg = alembic_config(self.url)
        with self.engine.begin() as conn:
            if self.engine.dialect.name == "postgresql":
                # replicas starting together take turns: the first migrates, the others find it done
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """A connection in one transaction that commits on success, taking SQLite's write turn first."""
        with self._write_turn or nullcontext(), self.engine.begin() as conn:
            yield conn

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on error."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()
