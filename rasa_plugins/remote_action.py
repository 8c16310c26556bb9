"""A compiled check of the action server's responses for Rasa 3.6 (same checks, ~800x cheaper).

Rasa validates every custom action's response against its JSON schema with `jsonschema.validate`,
which first re-validates the schema itself and builds a new validator: ~40 ms of CPU per action call
on the 2-core development machine, a third of Rasa's whole CPU for a KB answer (docs/benchmarks.md
"KB answer path"). `install()` replaces `RemoteAction._validate_action_result` with the same schema
compiled once (0.05 ms): a response that failed before fails now, with the same message.
Idempotent; installed when the supportbot featurizer is imported (every model of this project), together
with the slimmed tracker of rasa_plugins/action_request.py.
"""

from __future__ import annotations

from typing import Any, Dict, Text


def install() -> bool:
    """Patch Rasa's RemoteAction once; False when this Rasa has no such method (nothing patched)."""
    try:
        import jsonschema
        from rasa.core.actions.action import DOCS_BASE_URL, RemoteAction
    except ImportError:
        return False
    if getattr(RemoteAction, "_supportbot_compiled_check", False):
        return True
    if not hasattr(RemoteAction, "_validate_action_result"):
        return False
    schema = RemoteAction.action_response_format_spec()
    validator = jsonschema.validators.validator_for(schema)(schema)

    def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        try:  # what jsonschema.validate does after its schema check: the best-matching error
            error = jsonschema.exceptions.best_match(validator.iter_errors(result))
            if error is not None:
                raise error
            return True
        except jsonschema.ValidationError as e:
            e.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise e

    RemoteAction._validate_action_result = _validate_action_result
    RemoteAction._supportbot_compiled_check = True
    from rasa_plugins import action_request

    action_request.install()  # the slimmed tracker in the same request (rasa_plugins/action_request.py)
    return True
