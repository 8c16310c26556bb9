"""The action server app: rasa_sdk's own Sanic app factory, given our actions and their services.

Actions are registered as instances holding `ActionServices`, so the encoder, the index and the
response selector are loaded once (by `ActionServices.warm_up`) and shared by every request.
Besides rasa_sdk's `/health`, `/webhook` and `/actions`, `/status` reports what is loaded.

Rasa sends the domain (~25 KB for the demo bot) only to actions that declare `send_domain: true`
(endpoints.yml `enable_selective_domain`). rasa_sdk 3.21 would answer a request without the domain
with HTTP 449 ("retry with the domain"), a protocol Rasa 3.6 does not speak (the turn's action
fails); `DomainOptionalExecutor` serves such a request with the last domain it was sent, or none:
our actions that read the domain (the form validator) are always sent it.
Only Rasa may run actions: every path but `/health` needs the action token (`?token=`, which Rasa's
`action_endpoint.token` sends, or an `X-Action-Token` header), compared in constant time; anything else
gets 401 before rasa-sdk sees the request (docs/security.md).

Several processes may serve one port (`serve(..., reuse_port=True)`, `python -m actions --reuse-port`):
each binds its own listening socket with SO_REUSEPORT, after its models are warm, and the kernel spreads
new connections over the live ones; a process that dies takes only its own socket (and the requests in
it) with it. Rasa opens a new connection for every action call, so its next call reaches a live one.
Every answer carries `X-Server-Pid`, so a supervisor can tell which process answered a health check.
"""

from __future__ import annotations

import hmac
import os
import socket

from rasa_sdk.endpoint import create_app as create_sdk_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response

from actions.answer import ActionAnswerQuestion, ActionShowFullArticle
from actions.block_card import ActionAskStepupCode, ActionBlockCard, ValidateBlockCardForm
from actions.handoff import ActionHandoff
from actions.services import ActionServices


class DomainOptionalExecutor(ActionExecutor):
    """An executor that runs actions Rasa sends without the domain (selective domain, Rasa 3.6)."""

    def update_and_return_domain(self, payload: dict, action_name: str) -> dict | None:
        if payload.get("domain") is None and not self.is_domain_digest_valid(payload.get("domain_digest")):
            return self.domain or {}
        return super().update_and_return_domain(payload, action_name)


def build_executor(services: ActionServices) -> ActionExecutor:
    executor = DomainOptionalExecutor()
    for action in (
        ActionAnswerQuestion(services),
        ActionShowFullArticle(services),
        ActionHandoff(),
        ValidateBlockCardForm(services.codes),
        ActionAskStepupCode(),
        ActionBlockCard(services.bank, services.codes),
    ):
        executor.register_action(action)
    return executor


def require_token(app: Sanic, token: str) -> Sanic:
    """Refuse every request but `/health` that does not carry `token`."""
    want = token.encode()

    @app.on_request
    async def check_token(request):
        if request.path == "/health" or not want:
            return None
        given = request.args.get("token") or request.headers.get("x-action-token") or ""
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), want):
            return response.json({"error": "unauthorized", "message": "Only Rasa may call the action server: "
                                  "send the action token (SUPPORTBOT_ACTION_TOKEN / var/action_token)."},
                                 status=401)
        return None

    return app


def create_app(services: ActionServices, token: str = "") -> Sanic:
    app = create_sdk_app(build_executor(services), cors_origins=[])  # browsers have no business here
    require_token(app, token)

    @app.get("/status")
    async def status(_request):
        return response.json(services.status())

    add_pid_header(app)
    return app


def add_pid_header(app: Sanic) -> Sanic:
    """Every answer names the process that gave it (several may share the port)."""
    pid = str(os.getpid())

    @app.on_response
    async def server_pid(_request, resp):
        resp.headers["X-Server-Pid"] = pid

    return app


def listening_socket(host: str, port: int, reuse_port: bool = False, backlog: int = 1024) -> socket.socket:
    """A bound, listening TCP socket; with `reuse_port` other processes may bind the same port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        hint = (" Another process holds it without SO_REUSEPORT: start every server on this port with --reuse-port."
                if reuse_port else " Stop what holds it, choose another port, or start both with --reuse-port.")
        raise OSError(exc.errno, f"The action server cannot listen on {host}:{port} ({exc.strerror}).{hint}") from exc
    sock.listen(backlog)
    return sock


def serve(app: Sanic, host: str, port: int, reuse_port: bool = False) -> None:
    """Run in this process (no worker processes), so the warmed-up models are the ones serving; with
    `reuse_port` beside other processes on the same port (the module docstring)."""
    sock = listening_socket(host, port, reuse_port)
    app.run(sock=sock, single_process=True, access_log=False, motd=False)
