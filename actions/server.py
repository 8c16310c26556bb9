"""The action server app: rasa_sdk's own Sanic app factory, given our actions and their services.

Actions are registered as instances holding `ActionServices`, so the encoder, the index and the
response selector are loaded once (by `ActionServices.warm_up`) and shared by every request.
Besides rasa_sdk's `/health`, `/webhook` and `/actions`, `/status` reports what is loaded.

Rasa sends the domain (~25 KB for the demo bot) only to actions that declare `send_domain: true`
(endpoints.yml `enable_selective_domain`). rasa_sdk 3.21 would answer a request without the domain
with HTTP 449 ("retry with the domain"), a protocol Rasa 3.6 does not speak (the turn's action
fails); `DomainOptionalExecutor` serves such a request with the last domain it was sent, or none:
our actions that read the domain (the form validator) are always sent it.
"""

from __future__ import annotations

from rasa_sdk.endpoint import create_app as create_sdk_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response

from actions.answer import ActionAnswerQuestion, ActionShowFullArticle
from actions.block_card import ActionBlockCard, ValidateBlockCardForm
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
        ValidateBlockCardForm(),
        ActionBlockCard(services.bank),
    ):
        executor.register_action(action)
    return executor


def create_app(services: ActionServices) -> Sanic:
    app = create_sdk_app(build_executor(services), cors_origins=services.settings.allowed_origins)

    @app.get("/status")
    async def status(_request):
        return response.json(services.status())

    return app


def serve(app: Sanic, host: str, port: int) -> None:
    """Run in this process (no worker processes), so the warmed-up models are the ones serving."""
    app.run(host=host, port=port, single_process=True, access_log=False, motd=False)
