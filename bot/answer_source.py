"""Which source answered a bot turn: a rule, the knowledge base, a learnt reply, a fallback, or an agent.

One pure function over what the service already has when it stores a reply: the `supportbot`
annotation the action sent with it (bot/replies.py keeps its `answer_source`, `error` and `handoff`
fields on the reply) and the Rasa action that said it. The invariants:

- a KB answer (`answer_source` `kb` or `kb_full_article`) is `kb`; a dialogue-model reply
  (`responses`) is `learnt`; "I'm not sure" (`low_confidence`), the out-of-scope refusal and any
  polite error (`error`: the KB or a backend was unavailable, an action failed) are `fallback`;
- a reply without an annotation comes from a rule or a form (Rasa's own responses and the bank
  forms), unless its action is one of Rasa's fallbacks (`FALLBACK_ACTIONS`);
- agents' turns are `agent` (bot/handoff.py) and the notice a customer gets when Rasa could not
  answer is `fallback` (bot/conversations.py).
"""

from __future__ import annotations

from typing import Any

RULE, KB, LEARNT, FALLBACK, AGENT = "rule", "kb", "learnt", "fallback", "agent"
SOURCES = (RULE, KB, LEARNT, FALLBACK, AGENT)
LABELS = {RULE: "rule", KB: "knowledge base", LEARNT: "learnt reply", FALLBACK: "fallback", AGENT: "agent"}

KIND_TO_SOURCE = {"kb": KB, "kb_full_article": KB, "responses": LEARNT, "low_confidence": FALLBACK,
                  "out_of_scope": FALLBACK}
# Rasa's own fallbacks, and our responses that say "I could not answer" without an annotation
FALLBACK_ACTIONS = frozenset({"action_default_fallback", "action_two_stage_fallback", "utter_default",
                              "utter_low_confidence", "utter_kb_unavailable", "utter_something_went_wrong",
                              "utter_out_of_scope"})


def answer_source(reply: dict[str, Any], action: str | None) -> str:
    """The source of one bot reply (see the module docstring for the rules)."""
    if reply.get("error"):
        return FALLBACK
    kind = reply.get("answer_kind")
    if isinstance(kind, str) and kind in KIND_TO_SOURCE:
        return KIND_TO_SOURCE[kind]
    if action in FALLBACK_ACTIONS:
        return FALLBACK
    return RULE


def template_of(reply: dict[str, Any]) -> str | None:
    """The learnt reply's template (what the dialogue model's bank holds), when it is one."""
    template = reply.get("template")
    return template if isinstance(template, str) and template and reply.get("answer_kind") == "responses" else None
