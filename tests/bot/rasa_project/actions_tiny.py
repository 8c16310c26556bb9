"""Custom actions of the tiny test bot, served by the real rasa-sdk action server.

`action_slow` sleeps SUPPORTBOT_TEST_SLOW_S seconds, so the tests can make Rasa slow for real.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher


class ActionBalance(Action):
    def name(self) -> str:
        return "action_balance"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        dispatcher.utter_message(text="Your balance is 42.00 EUR.")
        return []


class ActionSlow(Action):
    def name(self) -> str:
        return "action_slow"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> list:
        await asyncio.sleep(float(os.environ.get("SUPPORTBOT_TEST_SLOW_S", "3")))
        dispatcher.utter_message(text="Here is your slow report.")
        return []
