"""The agent console: transcripts, the handoff queue, corrections, review and analytics.

`mount(app, services)` adds the console's routes (pages under /console, JSON and live events
under /api/console) to the bot service's FastAPI app. Nothing heavy is imported until then.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from fastapi import FastAPI

    from bot.app import Services


def mount(app: FastAPI, services: Services) -> None:
    from bot.console.context import install

    install(app, services)
