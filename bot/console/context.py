"""What the console's routes share, built once per app by `mount`: the services, the login
machinery, the unanswered-question clusterer, the knowledge gaps and a short-lived cache of known intents."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles

from bot.console.auth import Auth
from bot.console.listing import known_intents
from bot.console.unanswered import UnansweredClusters

STATIC = Path(__file__).resolve().parent / "static"


@dataclass
class Console:
    services: Any
    auth: Auth
    clusters: UnansweredClusters
    masker: Any = None  # privacy.masking.Masker: personal data masked on every page and API answer
    gaps: Any = None  # bot.console.gaps.KnowledgeGaps
    _intents: tuple[float, list[str]] = field(default=(0.0, []))

    @property
    def db(self):
        return self.services.db

    @property
    def settings(self):
        return self.services.settings

    @property
    def handoff(self):
        return self.services.handoff

    def intents(self) -> list[str]:
        at, names = self._intents
        if time.monotonic() - at > 60:
            names = known_intents(self.db)
            self._intents = (time.monotonic(), names)
        return names


def console_of(request: Request) -> Console:
    return request.app.state.console


def install(app: FastAPI, services: Any) -> None:
    from bot.console import actions, admin, assist, dashboard, gaps_page, live, pages, resolution_page, reveal
    from bot.console.gaps import KnowledgeGaps
    from privacy.masking import Masker

    app.state.console = Console(services=services, auth=Auth(services.db, services.settings),
                                clusters=UnansweredClusters(services.db, services.settings),
                                masker=Masker.from_settings(services.settings),
                                gaps=KnowledgeGaps(services.db, services.settings))
    app.state.warm_ups.append(app.state.console.masker.warm_up)  # run before the service serves (bot/app.py)
    app.mount("/console/static", StaticFiles(directory=STATIC), name="console-static")
    for module in (pages, actions, admin, dashboard, resolution_page, gaps_page, live, reveal, assist):
        app.include_router(module.router)
