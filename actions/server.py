"""The action server app: rasa_sdk's own Sanic app factory, given our actions and their services.

Actions are registered as instances holding `ActionServices`, so the encoder, the index and the
response selector are loaded once (by `ActionServices.warm_up`) and shared by every request.
Besides rasa_sdk's `/health`, `/webhook` and `/actions`, `/status` reports what is loaded.
"""

from __future__ import annotations

from rasa_sdk.endpoint import create_app as create_sdk_app
from rasa_sdk.executor import ActionExecutor
from sanic import Sanic, response

from actions.answer import ActionAnswerQuestion, ActionShowFullArticle
from actions.block_card import ActionBlockCard, ValidateBlockCardForm
from actions.handoff import ActionHandoff
from actions.services import ActionServices


def build_executor(services: ActionServices) -> ActionExecutor:
    executor = ActionExecutor()
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
