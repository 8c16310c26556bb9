"""Keeping the platform's processes running: `supportbot up` restarts a child that dies.

A child (the action server, the Rasa server with its worker processes, the bot service) that exits
is restarted after a back-off that doubles with each crash inside `window_s` (1 s, 2 s, 4 s ... up to
`max_backoff_s`); the reason (exit code or signal, last log lines) is logged each time. More than
`max_restarts` crashes of one child inside `window_s` means something is broken for good: the
supervisor gives up, loudly, and `up` stops everything. A child's whole process group is killed
before it is started again, so workers of a dead parent never keep its port.

Invariant: the state file (`var/run/up-<port>.json`) always describes the children as last seen, so
`supportbot status` can show restarts without talking to the supervisor.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bot.processes import Service


class GaveUp(RuntimeError):
    """A child crashed more often than the supervisor may restart it."""


def exit_reason(code: int | None) -> str:
    if code is None:
        return "unknown exit"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


def state_path(var_dir: Path, port: int) -> Path:
    """Where the `up` serving bot-service port `port` records its children."""
    return var_dir / "run" / f"up-{port}.json"


def read_state(path: Path) -> dict | None:
    """The state file of a running `up`, or None when there is none (or its supervisor is gone)."""
    try:
        state = json.loads(path.read_text())
        os.kill(int(state["pid"]), 0)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return state


@dataclass
class _Child:
    svc: Service
    restarts: int = 0
    crashes: deque = field(default_factory=deque)  # monotonic times of recent crashes
    restart_at: float | None = None  # when a pending restart is due
    last_exit: str | None = None
    last_restart: float | None = None  # wall-clock time


class Supervisor:
    def __init__(self, services: list[Service], log_dir: Path, state_file: Path, say: Callable[[str], None],
                 max_restarts: int = 5, window_s: float = 300.0, max_backoff_s: float = 30.0):
        self.children = [_Child(s) for s in services]
        self.log_dir = log_dir
        self.state_file = state_file
        self.say = say
        self.max_restarts = max_restarts
        self.window_s = window_s
        self.max_backoff_s = max_backoff_s
        self.started = time.time()

    def check(self, now: float | None = None) -> None:
        """One round: notice dead children, schedule or perform their restarts; raises GaveUp."""
        now = time.monotonic() if now is None else now
        changed = False
        for c in self.children:
            if c.restart_at is None and not c.svc.alive():
                changed = True
                self._crashed(c, now)
            if c.restart_at is not None and now >= c.restart_at:
                changed = True
                c.restart_at = None
                c.restarts += 1
                c.last_restart = time.time()
                self.say(f"supportbot: restarting {c.svc.name} (restart {c.restarts})")
                c.svc.start(self.log_dir)
        if changed:
            self.write_state()

    def _crashed(self, c: _Child, now: float) -> None:
        code = c.svc.proc.returncode if c.svc.proc is not None else None
        c.last_exit = exit_reason(code)
        kill_group(c.svc)
        while c.crashes and now - c.crashes[0] > self.window_s:
            c.crashes.popleft()
        c.crashes.append(now)
        if len(c.crashes) > self.max_restarts:
            self.write_state()
            raise GaveUp(f"{c.svc.name} {c.last_exit} and crashed {len(c.crashes)} times within "
                         f"{self.window_s:.0f}s; giving up. Fix the cause shown in its log "
                         f"({c.svc.log_path}), then run `supportbot up` again. Last lines:\n{c.svc.tail()}")
        delay = min(2.0 ** (len(c.crashes) - 1), self.max_backoff_s)
        c.restart_at = now + delay
        self.say(f"supportbot: {c.svc.name} {c.last_exit}; restarting it in {delay:.0f}s "
                 f"(crash {len(c.crashes)} of at most {self.max_restarts} within {self.window_s:.0f}s). "
                 f"Last lines of {c.svc.log_path}:\n{c.svc.tail(10)}")

    def write_state(self) -> None:
        state = {"pid": os.getpid(), "started_at": self.started, "services": {
            c.svc.name: {"pid": c.svc.proc.pid if c.svc.proc is not None else None, "alive": c.svc.alive(),
                         "restarts": c.restarts, "last_exit": c.last_exit, "last_restart_at": c.last_restart,
                         "restart_pending": c.restart_at is not None}
            for c in self.children}}
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    def remove_state(self) -> None:
        self.state_file.unlink(missing_ok=True)


def kill_group(svc: Service) -> None:
    """Kill what is left of a dead child's process group (e.g. Sanic workers whose parent died)."""
    if svc.proc is None:
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(svc.proc.pid, signal.SIGKILL)
    svc.proc.poll()
