"""The inbox-like queue and the takeover summary in real headless Chromium: an agent in another time zone
with desktop notifications switched on sees a newly waiting conversation arrive (notification raised, wait
"just now", why, last message), opens it, and reads the summary of the bot's part; times are local."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from bot.console.accounts import Accounts
from bot.replies import parse_replies
from tests.console import seed
from tests.console.conftest import PASSWORD
from tests.console.test_browser import CHROMIUM_ARGS
from tests.support import free_port
from tests.tiny_rasa import running_service

pytestmark = [pytest.mark.browser, pytest.mark.timeout(180)]

# records what the page asks the (real) Notification API for, then lets it through
SPY = """
window.__notified = [];
const Real = window.Notification;
window.Notification = function (title, options) { window.__notified.push(title); return new Real(title, options); };
Object.defineProperty(window.Notification, "permission", {get: () => Real.permission});
window.Notification.requestPermission = (...a) => Real.requestPermission(...a);
"""
KB_NOTE = {"supportbot": {"sources": [{"title": "Card swallowed by an ATM", "url": "https://bank.example/swallowed",
                                       "doc_id": "card_swallowed.md", "score": 0.8}], "answer_source": "kb"}}


def _bot_part(store) -> str:
    c = seed.conversation(store, [{"text": "hello", "intent": "greet", "confidence": 0.99, "reply": "Hi!"}])
    replies, _ = parse_replies([{"text": "If an ATM keeps your card, we block it."}, {"custom": KB_NOTE}])
    turn = store.append_customer_turn(c["session"]["session_id"], "widget", "the ATM swallowed my card", None)
    store.record_replies(c["id"], turn["turn_id"], replies, {"intent": "card_swallowed", "confidence": 0.9,
                                                              "actions": ["action_answer_question"]})
    store.append_customer_turn(c["session"]["session_id"], "widget", "I need it back today", None)
    return c["id"]


async def test_a_new_waiting_customer_notifies_and_the_summary_is_there(sqlite_url, tmp_path):
    dead_rasa = f"http://127.0.0.1:{free_port()}"
    async with running_service(sqlite_url, dead_rasa, var_dir=tmp_path / "var", rasa_timeout_s=1.0) as svc, \
            async_playwright() as pw:
        Accounts(svc.services.db).add("ann", PASSWORD, "agent", "Ann Agent")
        conv_id = _bot_part(svc.services.store)
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        context = await browser.new_context(timezone_id="America/New_York", locale="en-US")
        await context.grant_permissions(["notifications"], origin=svc.url)
        await context.add_init_script(SPY)
        agent = await context.new_page()
        errors: list[str] = []
        agent.on("pageerror", lambda exc: errors.append(str(exc)))
        await agent.goto(f"{svc.url}/console/login")
        await agent.fill('input[name="username"]', "ann")
        await agent.fill('input[name="password"]', PASSWORD)
        await agent.click('button[type="submit"]')
        await agent.goto(f"{svc.url}/console/queue")
        await expect(agent.locator("#waiting-list li.empty")).to_be_visible()
        await agent.check("#notify-toggle")
        await expect(agent.locator("#agents-online")).to_have_text("1")  # the page's event stream is open

        await svc.services.handoff.request(conv_id, "bot", "intent:card_swallowed")
        item = agent.locator(f'#waiting-list li[data-id="{conv_id}"]')
        await expect(item).to_be_visible()
        await expect(item.locator(".waited")).to_have_text("just now")
        await expect(item.locator(".why")).to_have_text("The bot hands off on “card_swallowed”.")
        await expect(item.locator(".last-message")).to_have_text("I need it back today")
        assert await agent.evaluate("window.__notified") == ["A customer is waiting"]

        await item.locator("a.who").click()
        await expect(agent.locator("#takeover-asked")).to_contain_text("card_swallowed")
        await expect(agent.locator("#takeover-articles a")).to_have_text("Card swallowed by an ATM")
        await expect(agent.locator("#takeover-last")).to_have_text("I need it back today")
        first = agent.locator("#turns time").first
        await expect(first).to_have_attribute("data-local", "1")
        shown, iso = await first.text_content(), await first.get_attribute("datetime")
        assert "UTC" not in shown and iso.endswith("+00:00")
        expected = await agent.evaluate("iso => new Date(iso).toLocaleString('en-US', {timeZone: 'America/New_York',"
                                        " dateStyle: 'medium', timeStyle: 'medium'})", iso)
        assert shown == expected
        assert errors == []
        await browser.close()
