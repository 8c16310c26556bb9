"""How `supportbot up` configures Rasa: endpoints file, tracker store, lock store, event broker."""

from __future__ import annotations

import json

import pytest
import yaml

from bot.processes import TRACKER_STORE, platform_services, render_endpoints, tracker_store_config
from core.settings import Settings
from rasa_plugins.blas_threads import THREAD_VARS as SERVING_THREAD_VARS


def test_sqlite_store_gives_rasa_its_own_tracker_file(tmp_path):
    s = Settings(var_dir=tmp_path, database_url="")
    cfg = tracker_store_config(s)
    assert cfg == {"type": TRACKER_STORE, "dialect": "sqlite", "db": str(tmp_path / "rasa_tracker.db")}


def test_rasa_sqlite_tracker_file_is_put_in_wal_mode_so_our_reads_never_block_rasa(tmp_path):
    import sqlite3

    s = Settings(var_dir=tmp_path, database_url="")
    render_endpoints(s, tmp_path / "run")
    with sqlite3.connect(tmp_path / "rasa_tracker.db") as conn:  # a new connection sees the file's mode
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_postgres_store_is_shared_with_rasa(tmp_path):
    s = Settings(var_dir=tmp_path, database_url="postgresql://bot:secret@db.internal:5433/supportbot")
    cfg = tracker_store_config(s)
    assert cfg == {"type": TRACKER_STORE, "dialect": "postgresql", "url": "db.internal", "port": 5433,
                   "db": "supportbot", "username": "bot", "password": "secret"}


def test_endpoints_carry_action_port_lock_store_and_broker(tmp_path):
    s = Settings(var_dir=tmp_path, action_port=6123, rasa_lock_store_url="redis://127.0.0.1:6379/3",
                 rasa_event_broker_url="amqp://guest:guest@127.0.0.1:5672/")
    path = render_endpoints(s, tmp_path / "run")
    cfg = yaml.safe_load(path.read_text())
    assert cfg["action_endpoint"]["url"] == "http://127.0.0.1:6123/webhook"
    assert cfg["lock_store"] == {"type": "redis", "url": "127.0.0.1", "port": 6379, "db": 3,
                                 "key_prefix": "supportbot"}
    assert cfg["event_broker"]["type"] == "pika" and cfg["event_broker"]["queues"] == ["rasa_events"]


def test_services_start_in_dependency_order_with_configured_ports(tmp_path):
    s = Settings(var_dir=tmp_path, port=9001, rasa_port=9002, action_port=9100, rasa_processes=1, action_processes=1)
    names = [(svc.name, svc.health_url.split("?")[0]) for svc in platform_services(s)]  # Rasa: ?token=
    assert names == [("actions", "http://127.0.0.1:9100/health"), ("rasa", "http://127.0.0.1:9002/status"),
                     ("bot", "http://127.0.0.1:9001/healthz")]


def test_two_rasa_servers_on_consecutive_ports_two_action_servers_on_one_and_the_bot_told_every_rasa(tmp_path):
    services = {svc.name: svc for svc in platform_services(Settings(var_dir=tmp_path, port=9001, rasa_port=9002,
                                                                     action_port=9100))}  # the defaults: 2 and 2
    assert list(services) == ["actions", "actions-1", "rasa", "rasa-1", "bot"]
    assert [services[n].health_url.split("?")[0] for n in ("rasa", "rasa-1")] == [
        "http://127.0.0.1:9002/status", "http://127.0.0.1:9003/status"]
    for name in ("actions", "actions-1"):  # one port, SO_REUSEPORT; health asks which process answered
        assert services[name].cmd[-1] == "--reuse-port" and services[name].shared_port
        assert services[name].health_url == "http://127.0.0.1:9100/health"
    assert json.loads(services["bot"].env["SUPPORTBOT_RASA_URLS"]) == ["http://127.0.0.1:9002", "http://127.0.0.1:9003"]
    assert services["rasa"].cmd[services["rasa"].cmd.index("--endpoints") + 1] == \
        services["rasa-1"].cmd[services["rasa-1"].cmd.index("--endpoints") + 1]  # one tracker and lock store
    cfg = yaml.safe_load(render_endpoints(Settings(var_dir=tmp_path), tmp_path / "two").read_text())
    assert cfg["lock_store"]["type"] == "rasa_plugins.lock_store.FileLockStore"  # 2 processes, no Redis


def test_serving_processes_get_one_blas_thread_unless_the_operator_says_otherwise(tmp_path, monkeypatch):
    """An idle OpenBLAS worker spins after every matrix product: one thread per serving process by default."""
    for name in SERVING_THREAD_VARS:
        monkeypatch.delenv(name, raising=False)
    services = platform_services(Settings(var_dir=tmp_path))
    for svc in services:
        assert all(svc.env[name] == "1" for name in SERVING_THREAD_VARS), svc.name
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    services = platform_services(Settings(var_dir=tmp_path))
    assert {svc.env["OPENBLAS_NUM_THREADS"] for svc in services} == {"4"}
    assert {svc.env["OMP_NUM_THREADS"] for svc in services} == {"1"}


def test_several_rasa_workers_share_file_locks_without_redis_and_redis_when_configured(tmp_path):
    services = platform_services(Settings(var_dir=tmp_path, rasa_workers=2))
    rasa = next(svc for svc in services if svc.name == "rasa")
    assert rasa.env["SANIC_WORKERS"] == "2"
    assert all("SANIC_WORKERS" not in svc.env for svc in services if not svc.name.startswith("rasa"))
    cfg = yaml.safe_load(render_endpoints(Settings(var_dir=tmp_path, rasa_workers=2), tmp_path / "run").read_text())
    assert cfg["lock_store"] == {"type": "rasa_plugins.lock_store.FileLockStore",
                                 "lock_dir": str(tmp_path / "run" / "locks")}
    one = yaml.safe_load(render_endpoints(Settings(var_dir=tmp_path, rasa_workers=1, rasa_processes=1),
                                          tmp_path / "one").read_text())
    assert "lock_store" not in one  # one process: Rasa's in-memory lock store is enough
    redis = Settings(var_dir=tmp_path, rasa_workers=2, rasa_lock_store_url="redis://127.0.0.1:6379/1")
    assert yaml.safe_load(render_endpoints(redis, tmp_path / "r").read_text())["lock_store"]["type"] == "redis"
    with pytest.raises(ValueError, match="SUPPORTBOT_RASA_WORKERS=1"):
        platform_services(Settings(var_dir=tmp_path, rasa_workers=0))
    with pytest.raises(ValueError, match="SUPPORTBOT_RASA_PROCESSES=1"):
        platform_services(Settings(var_dir=tmp_path, rasa_processes=0))
