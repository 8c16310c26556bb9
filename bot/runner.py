"""`supportbot up | train | status`: run the whole bot locally, bring its artifacts up to date, check it."""

from __future__ import annotations

import json
import signal
import sys
import time

import click

from core.settings import Settings, get_settings


def _err(msg: str) -> None:
    click.echo(msg, err=True)


@click.command()
@click.option("--force", is_flag=True, help="Retrain the Rasa model even if its inputs did not change.")
def train(force: bool) -> None:
    """Bring every artifact up to date: store schema, ONNX encoder, KB index, Rasa model.

    Each step skips itself when its inputs did not change. Prints a JSON report on stdout.
    """
    from bot.training import report_json, train_all

    settings = get_settings()
    try:
        report = train_all(settings, force=force, say=_err)
    except Exception as exc:  # noqa: BLE001 - shown to the user with what to do
        raise click.ClickException(str(exc)) from exc
    click.echo(report_json(report))


@click.command()
@click.option("--host", default=None, help="Address of the bot service (default SUPPORTBOT_HOST, 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port of the bot service (default SUPPORTBOT_PORT, 8000).")
@click.option("--rasa-port", type=int, default=None,
              help="Port of the first Rasa server (default 5005; SUPPORTBOT_RASA_PROCESSES servers on this port and the next).")
@click.option("--action-port", type=int, default=None, help="Port of the action server (default 5055).")
@click.option("--no-train", is_flag=True, help="Start with the artifacts as they are; do not train first.")
@click.option("--timeout", type=float, default=300.0, show_default=True,
              help="Seconds to wait for all services to become healthy.")
def up(host, port, rasa_port, action_port, no_train: bool, timeout: float) -> None:
    """Train what changed, start Rasa, the action server and the bot service; Ctrl-C stops them all.

    A service that dies is restarted with back-off; after repeated crashes `up` gives up and stops.

    Prints the URL of the demo page with the chat widget once every service is healthy.
    Logs go to var/logs/<service>.log.
    """
    from bot.processes import platform_services, stop_all, wait_healthy
    from bot.supervisor import Supervisor, state_path
    from bot.training import train_all

    overrides = {k: v for k, v in {"host": host, "port": port, "rasa_port": rasa_port,
                                   "action_port": action_port}.items() if v is not None}
    settings = get_settings().model_copy(update=overrides)
    try:  # before training: a configuration mistake should not cost minutes first
        services = platform_services(settings, env={"SUPPORTBOT_HOST": settings.host})
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    if not no_train:
        _err("supportbot: bringing artifacts up to date (supportbot train)")
        try:
            train_all(settings, say=_err)
        except Exception as exc:  # noqa: BLE001
            raise click.ClickException(f"training failed: {exc}") from exc
    stopping = False

    def _stop(signum, _frame):
        nonlocal stopping
        if not stopping:
            stopping = True
            raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)  # also when started in the background, where SIGINT is ignored
    _err("supportbot: starting services")
    supervisor = Supervisor(services, settings.var_dir / "logs", state_path(settings.var_dir, settings.port), _err,
                            max_restarts=settings.supervise_max_restarts, window_s=settings.supervise_window_s,
                            max_backoff_s=settings.supervise_max_backoff_s)
    try:
        for svc in services:
            svc.start(settings.var_dir / "logs")
        wait_healthy(services, timeout=timeout, say=_err)
        url = settings.public_url or f"http://{settings.host}:{settings.port}"
        click.echo(f"\nsupportbot is up. Demo page with the chat widget: {url}/\n"
                   f"  agent console: {url}/console   API docs: {url}/docs\n"
                   f"  logs: {settings.var_dir / 'logs'}   Press Ctrl-C to stop.")
        supervisor.write_state()
        while True:  # raises GaveUp after repeated crashes of one child
            supervisor.check()
            time.sleep(0.5)
    except KeyboardInterrupt:
        _err("\nsupportbot: stopping")
    except (RuntimeError, TimeoutError) as exc:  # GaveUp included
        raise click.ClickException(str(exc)) from exc
    finally:
        stop_all(services)
        supervisor.remove_state()
        _err("supportbot: all services stopped")


def _health_code(url: str, pid: int | None = None, tries: int = 12) -> int:
    """The health URL's HTTP status; with `pid` (several processes share the port) that process's own:
    each try is a new connection, which the kernel gives to any of them; 503 when it never answered."""
    import httpx

    for _ in range(tries if pid else 1):
        r = httpx.get(url, timeout=2.0)
        if pid is None or r.headers.get("x-server-pid") == str(pid):
            return r.status_code
    return 503


def collect_status(settings: Settings) -> dict:
    import httpx

    from bot.processes import platform_services, rasa_model_path
    from bot.supervisor import read_state, state_path
    from bot.training import rasa_fingerprint

    out: dict = {"services": {}, "artifacts": {}}
    supervised = (read_state(state_path(settings.var_dir, settings.port)) or {}).get("services", {})
    for svc in platform_services(settings):
        pid = (supervised.get(svc.name) or {}).get("pid") if svc.shared_port else None
        try:
            code = _health_code(svc.health_url, pid)
            out["services"][svc.name] = {"url": svc.health_url.split("?")[0], "healthy": code < 300, "http": code}
        except httpx.HTTPError as exc:
            out["services"][svc.name] = {"url": svc.health_url.split("?")[0], "healthy": False, "error": type(exc).__name__}
        if svc.name in supervised:  # started by a running `supportbot up`
            out["services"][svc.name].update({k: supervised[svc.name][k] for k in ("restarts", "last_exit")})
    model = rasa_model_path(settings)
    stamp = model.with_suffix("").with_suffix(".fingerprint")
    out["artifacts"]["rasa_model"] = {
        "path": str(model), "exists": model.exists(),
        "up_to_date": stamp.exists() and stamp.read_text().strip() == rasa_fingerprint(settings),
    }
    manifest = settings.index_dir / "manifest.json"
    out["artifacts"]["kb_index"] = {"path": str(settings.index_dir), "exists": manifest.exists()}
    from finetune.first_model import status as dialogue_model_status

    out["dialogue_model"] = dialogue_model_status(settings)
    try:
        from sqlalchemy import text

        from core.store.db import Database

        db = Database(settings.db_url)
        with db.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        db.dispose()
        out["database"] = {"url": settings.db_url.split("@")[-1], "reachable": True}
    except Exception as exc:  # noqa: BLE001
        out["database"] = {"url": settings.db_url.split("@")[-1], "reachable": False, "error": str(exc)[:200]}
    return out


def describe_dialogue_model(info: dict) -> str:
    """`serving VERSION`, or the first model's training progress, or what to do."""
    first = info.get("first_model") or {}
    if first.get("state") == "training":
        return f"training  {first.get('step') or ''}".rstrip()
    if info.get("serving"):
        return f"serving   {info['serving']}"
    if first.get("state") in ("failed", "rejected", "interrupted"):
        return f"{first['state']:9s} {first.get('error') or first.get('step') or ''} (see var/logs/first_model.log)"
    return "none      run `supportbot train` or `supportbot retrain`"


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as one JSON object.")
def status(as_json: bool) -> None:
    """Show whether each service answers, whether the Rasa model and KB index are up to date, and the DB."""
    info = collect_status(get_settings())
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    for name, s in info["services"].items():
        restarts = f"  restarts {s['restarts']} (last: {s['last_exit']})" if s.get("restarts") else ""
        click.echo(f"{name:10s} {'up' if s['healthy'] else 'DOWN':5s} {s['url']}{restarts}")
    for name, a in info["artifacts"].items():
        state = "ok" if a.get("exists") and a.get("up_to_date", True) else ("stale" if a.get("exists") else "missing")
        click.echo(f"{name:10s} {state:7s} {a['path']}")
    click.echo(f"{'dialogue':10s} {describe_dialogue_model(info['dialogue_model'])}")
    db = info["database"]
    click.echo(f"{'database':10s} {'ok' if db['reachable'] else 'DOWN':5s} {db['url']}")
    healthy = all(s["healthy"] for s in info["services"].values())
    sys.exit(0 if healthy else 1)
