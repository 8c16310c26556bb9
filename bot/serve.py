"""Run the bot service under uvicorn: `serve(settings)` for `supportbot up`, or `python -m bot.serve`.

The schema is migrated first (idempotent), so a fresh SQLite file or PostgreSQL database works.
"""

from __future__ import annotations

import logging

from core.settings import Settings, get_settings


def serve(settings: Settings) -> None:
    """Blocks until the process is told to stop (Ctrl-C / SIGTERM); the store is closed afterwards."""
    import uvicorn

    from bot.app import build_services, create_app

    logging.basicConfig(level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per Rasa call is noise
    services = build_services(settings)
    services.db.migrate()
    app = create_app(services)
    try:
        # no permessage-deflate: the widget's frames are a few hundred bytes, and compressing each one
        # cost CPU on the cores Rasa needs (docs/benchmarks.md "Customer channel"). proxy_headers off:
        # the client address comes from trusted proxies only (bot/web/proxies.py, SUPPORTBOT_TRUSTED_PROXIES)
        uvicorn.run(app, host=settings.host, port=settings.port, log_level=settings.log_level.lower(),
                    proxy_headers=False, ws_max_size=1 << 20, ws_per_message_deflate=False, access_log=False)
    finally:
        services.db.dispose()


def main() -> None:
    serve(get_settings())


if __name__ == "__main__":
    main()
