"""The suggestion panel in real headless Chromium: a customer on the real widget (Rasa is down, so the
bot cannot answer and the agent takes over), an agent who sees the serving model's suggestions,
gets fresh ones when the customer writes again, inserts one, edits it and sends it; the store then
holds the shown / ignored / edited record and the agent's reply as a labelled training pair."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import async_playwright, expect

from bot.console import assist_log
from bot.console.accounts import Accounts
from finetune.importers import read_store
from finetune.pairs import make_pairs
from tests.console.assist_support import BANK, build_kb, build_model, install
from tests.console.conftest import PASSWORD
from tests.console.test_browser import CHROMIUM_ARGS, say
from tests.support import free_port
from tests.tiny_rasa import running_service

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]


async def poll(check, timeout: float = 30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        await asyncio.sleep(0.1)


async def test_agent_inserts_edits_and_sends_a_suggestion(sqlite_url, tmp_path):
    model_dir, kb_index = build_model(tmp_path / "model"), build_kb(tmp_path / "kb")
    dead_rasa = f"http://127.0.0.1:{free_port()}"
    async with running_service(sqlite_url, dead_rasa, var_dir=tmp_path / "var", rasa_timeout_s=1.0) as svc, \
            async_playwright() as pw:
        install(svc.services.settings, model_dir, kb_index)
        Accounts(svc.services.db).add("ann", PASSWORD, "agent", "Ann Agent")
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        customer = await (await browser.new_context()).new_page()
        agent = await (await browser.new_context()).new_page()
        errors: list[str] = []
        for page in (customer, agent):
            page.on("pageerror", lambda exc: errors.append(str(exc)))

        await customer.goto(f"{svc.url}/demo")
        await customer.locator("button.launcher").click()
        await say(customer, "I lost my card, please block it")
        await expect(customer.locator(".msg").last).to_contain_text("unavailable")  # Rasa is down

        await agent.goto(f"{svc.url}/console/login")
        await agent.fill('input[name="username"]', "ann")
        await agent.fill('input[name="password"]', PASSWORD)
        await agent.click('button[type="submit"]')
        await agent.locator("tr.conversation-row a").first.click()
        conv_id = await agent.locator("main").get_attribute("data-conversation")
        await agent.click("#claim")
        await expect(agent.locator("#handback")).to_be_visible()

        # the panel: three learnt replies, the unfilled placeholder highlighted, KB passages with links
        suggestions = agent.locator("#assist-replies button.suggestion")
        await expect(suggestions).to_have_count(3, timeout=90_000)  # the first request loads the models
        await expect(suggestions.first).to_have_text(BANK[0])
        await expect(suggestions.first.locator("mark.missing")).to_have_text(["[NAME]", "[CARD]"])
        await expect(agent.locator("#assist-passages li").first).to_be_visible()
        assert assist_log.summary(svc.services.db, conv_id)["shown"] == 3

        # the customer writes again: the panel refreshes, the first batch counts as ignored
        first_id = await suggestions.first.get_attribute("data-id")
        await say(customer, "and how do I see my balance?")
        await expect(agent.locator("#turns li.turn-customer").last).to_contain_text("how do I see my balance?")
        await expect(suggestions.first).not_to_have_attribute("data-id", first_id, timeout=30_000)
        assert await poll(lambda: assist_log.summary(svc.services.db, conv_id) ==
                          {"shown": 6, "accepted": 0, "edited": 0, "ignored": 3})

        # insert, edit, send
        shown = await suggestions.first.text_content()
        await suggestions.first.click()
        box = agent.locator("#composer-text")
        await expect(box).to_have_value(shown)
        final = shown.replace("[NAME]", "Jane").replace("[CARD]", "ending in 4421") + " Anything else?"
        await box.fill(final)
        await agent.click('#composer button[type="submit"]')
        await expect(customer.locator(".msg.agent").last).to_contain_text("Anything else?")
        assert await poll(lambda: assist_log.summary(svc.services.db, conv_id)["edited"] == 1)
        assert assist_log.summary(svc.services.db, conv_id) == {"shown": 6, "accepted": 0, "edited": 1, "ignored": 5}

        pairs = [p for p in make_pairs(read_store(svc.services.settings.db_url).conversations)
                 if p["conversation_id"] == conv_id]
        assert [(p["reply"], p.get("label")) for p in pairs] == [(final, "correction")]
        assert errors == []
        await browser.close()
