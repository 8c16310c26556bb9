"""The bot service's app factory and the collaborators it is given.

`create_app(services)` builds the FastAPI app from ready-made collaborators (database, hub, Rasa
client, store, handoff), so tests and `bot.serve` wire real ones the same way and nothing is
created behind the caller's back. `build_services(settings)` is the standard wiring.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi import FastAPI

from bot import console, errors
from bot.apikeys import ApiKeys
from bot.channel import Channel
from bot.conversations import ConversationStore
from bot.handoff import Handoff
from bot.hub import Hub
from bot.identity import Identity
from bot.rasa_client import RasaClient
from bot.ratelimit import RateLimiter
from bot.ratelimit_shared import SharedRateLimiter, make_limiter
from bot.recovery import recover
from bot.sessions import Sessions
from bot.tracker_events import TrackerEvents
from bot.web.body_limit import BodyLimit
from bot.web.headers import SecurityHeaders
from bot.web.limits import FrameCosts, SocketCounter
from bot.web.proxies import ClientAddress
from core.secrets import rasa_token
from core.settings import NLU_DETAILS_SOURCES, Settings
from core.store.db import Database
from privacy.language import warm_up as warm_up_language

DESCRIPTION = """Customer channel of supportbot.

* `POST /api/messages`: server-to-server messages (`Authorization: Bearer <key from supportbot apikey create>`).
* `GET /ws`: the widget's WebSocket; its protocol is in docs/websocket-protocol.md.
* `GET /widget.js`: embed with `<script src=".../widget.js" data-title="Support" defer></script>`.
"""

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    hub: Hub
    rasa: RasaClient
    store: ConversationStore
    handoff: Handoff
    tracker_events: TrackerEvents | None = None  # None: details missing from an answer come from Rasa's HTTP API


@dataclass
class Limits:
    session: RateLimiter | SharedRateLimiter
    ip: RateLimiter | SharedRateLimiter


def make_hub(settings: Settings):
    """The in-process hub for one replica; with `hub_url` the one all replicas share."""
    if not settings.hub_url:
        return Hub()
    from bot.hub_shared import SharedHub, make_bus

    return SharedHub(make_bus(settings.hub_url))


def build_services(settings: Settings, db: Database | None = None) -> Services:
    """The standard wiring: the configured database, a fresh hub, Rasa client and handoff."""
    db = db or Database(settings.db_url)
    hub = make_hub(settings)
    if settings.nlu_details_source not in NLU_DETAILS_SOURCES:
        raise ValueError(f"SUPPORTBOT_NLU_DETAILS_SOURCE is {settings.nlu_details_source!r}; "
                         f"use one of {', '.join(NLU_DETAILS_SOURCES)}.")
    rasa = RasaClient(settings.rasa_urls or settings.rasa_url, settings.rasa_timeout_s,
                      channel="supportbot" if settings.nlu_details_source == "rasa_channel" else "rest",
                      token=rasa_token(settings))
    handoff = Handoff(db, hub, rasa, settings)
    # Rasa's tracker store is read when an answer does not carry its turn's events (another tracker store)
    tracker_events = None if settings.nlu_details_source == "tracker_api" else TrackerEvents(settings.tracker_db_url)
    return Services(settings=settings, db=db, hub=hub, rasa=rasa,
                    store=ConversationStore(db, retry_s=settings.store_retry_s), handoff=handoff,
                    tracker_events=tracker_events)


def run_warm_ups(warm_ups: list[Callable[[], object]]) -> None:
    """Load the models the request path needs (lingua's, the PII engine's spaCy tables) before the service
    serves: loaded in a background thread they held the GIL for ~3.5 s of CPU while the first customers'
    turns waited (300 ms for the first KB answers after a start). One that fails is logged; its model then
    loads on first use, as it would have."""
    for warm_up in warm_ups:
        try:
            warm_up()
        except Exception as exc:  # noqa: BLE001 - a model that cannot load must not keep the service down
            log.warning("warm-up %s failed (%s: %s); it loads on first use", getattr(warm_up, "__qualname__", warm_up),
                        type(exc).__name__, exc)


def create_app(services: Services) -> FastAPI:
    settings = services.settings
    channel = Channel(services)

    from privacy.jobs import PrivacyJobs

    jobs = PrivacyJobs(settings, services.db)  # storage-policy redaction and retention (docs/privacy.md)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        await asyncio.to_thread(run_warm_ups, _app.state.warm_ups)  # before the first connection is accepted
        jobs.start()
        await services.hub.start()
        await recover(services, channel)  # turns a crash left unanswered (bot/recovery.py)
        yield
        await jobs.stop()
        await services.hub.aclose()
        await channel.aclose()
        await services.rasa.aclose()
        if services.tracker_events is not None:
            services.tracker_events.dispose()

    app = FastAPI(title="supportbot", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.services = services
    app.state.channel = channel
    app.state.warm_ups = [warm_up_language]  # the console adds the PII engine's (bot/console/context.py)
    app.state.privacy_jobs = jobs
    app.state.sessions = Sessions(services.store, services.settings.session_idle_days)
    app.state.apikeys = ApiKeys(services.db)
    app.state.limits = Limits(  # in memory, or shared by the replicas through Redis (ratelimit_url)
        session=make_limiter(settings.session_rate_per_minute, settings.session_rate_burst, "per conversation",
                             settings.ratelimit_url),
        ip=make_limiter(settings.ip_rate_per_minute, settings.ip_rate_burst, "from your network",
                        settings.ratelimit_url),
    )
    app.state.client_address = ClientAddress(settings.trusted_proxies)
    app.state.sockets = SocketCounter(settings.ws_max_sockets_per_ip)
    app.state.frame_costs = FrameCosts(settings.ws_frame_costs)
    app.state.identity = Identity(settings.identity_secrets)
    errors.install(app)
    # the last one added runs first: the body cap, before anything parses or authenticates
    app.add_middleware(SecurityHeaders, allowed_origins=settings.allowed_origins, proxies=app.state.client_address,
                       hsts_max_age_s=settings.hsts_max_age_s)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)

    from bot.web.http import router
    from bot.web.ws import widget_socket

    app.include_router(router)
    app.add_api_websocket_route("/ws", widget_socket)
    console.mount(app, services)
    return app
