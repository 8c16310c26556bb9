"""`python -m actions`: start the action server on SUPPORTBOT_ACTION_PORT (default 5055).

Warms up the KB retriever and the response selector once, then serves rasa_sdk's webhook in
this process (`--reuse-port`: beside other action-server processes on the same port, actions/server.py).
Ctrl-C / SIGTERM stop it. `--help` lists the options.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from core.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(prog="python -m actions", description="supportbot's Rasa action server")
    parser.add_argument("--host", default=settings.action_host, help="address to listen on (SUPPORTBOT_ACTION_HOST)")
    parser.add_argument("--port", type=int, default=settings.action_port, help="port (SUPPORTBOT_ACTION_PORT)")
    parser.add_argument(
        "--index-dir", type=Path, default=settings.index_dir, help="KB index directory (default var/index/kb)"
    )
    parser.add_argument("--reuse-port", action="store_true",
                        help="share the port with other action-server processes (SO_REUSEPORT; `supportbot up` "
                             "starts SUPPORTBOT_ACTION_PROCESSES of them)")
    parser.add_argument("--log-level", default=settings.log_level, help="DEBUG, INFO, WARNING or ERROR")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from actions.server import create_app, serve
    from actions.services import ActionServices
    from core.secrets import action_token
    from core.settings import get_settings

    settings = get_settings()
    services = ActionServices.from_settings(settings, index_dir=args.index_dir)
    services.warm_up()
    serve(create_app(services, token=action_token(settings)), args.host, args.port, reuse_port=args.reuse_port)


if __name__ == "__main__":
    main()
