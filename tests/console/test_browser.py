"""The console in real headless Chromium, next to a customer using the real widget in a second
browser context, against the real bot service and a real (tiny) Rasa bot.

Log in, filter the list, open the transcript, watch the queue pick up a handoff live, take the
conversation over, chat both ways, prove the bot stayed silent (no bot turn, Rasa paused), hand it
back (the bot answers again), close it; hostile text never runs on either side.
"""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect

from bot.console.accounts import Accounts
from tests.console.conftest import PASSWORD
from tests.tiny_rasa import running_service

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
GREETING = "Hello! How can I help you today?"
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


async def say(widget, text: str) -> None:
    await widget.locator('textarea[aria-label="Type your message"]').fill(text)
    await widget.locator("form.composer button.send").click()


async def test_agent_takes_over_a_live_chat(sqlite_url, rasa_url, tmp_path):
    async with running_service(sqlite_url, rasa_url, var_dir=tmp_path / "var") as svc, async_playwright() as pw:
        Accounts(svc.services.db).add("ann", PASSWORD, "agent", "Ann Agent")
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        customer = await (await browser.new_context()).new_page()
        agent = await (await browser.new_context()).new_page()
        errors: list[str] = []
        for page in (customer, agent):
            page.on("pageerror", lambda exc: errors.append(str(exc)))

        # the customer greets the bot through the widget
        await customer.goto(f"{svc.url}/demo")
        await customer.locator("button.launcher").click()
        await say(customer, "hello")
        bot_msgs = customer.locator(".msg.bot")
        await expect(bot_msgs.last).to_contain_text(GREETING)

        # the agent logs in (nothing is reachable before), filters and opens the transcript
        await agent.goto(f"{svc.url}/console/conversations")
        await expect(agent).to_have_url(f"{svc.url}/console/login?next=%2Fconsole%2Fconversations")
        await agent.fill('input[name="username"]', "ann")
        await agent.fill('input[name="password"]', PASSWORD)
        await agent.click('button[type="submit"]')
        await expect(agent.locator("h1")).to_have_text("Conversations")
        await agent.select_option('select[name="status"]', "closed")
        await agent.click('#filters button[type="submit"]')
        await expect(agent.locator("td.empty")).to_have_text("No conversations match.")
        await agent.select_option('select[name="status"]', "live")
        await agent.fill('input[name="q"]', "hello")
        await agent.click('#filters button[type="submit"]')
        rows = agent.locator("tr.conversation-row")
        await expect(rows).to_have_count(1)
        await rows.first.locator("a").click()
        turns = agent.locator("#turns li.turn")
        await expect(turns.first).to_contain_text("hello")
        await expect(agent.locator("li.turn-bot").first).to_contain_text(GREETING)
        conv_id = await agent.locator("main").get_attribute("data-conversation")
        customer_turn = agent.locator("li.turn-customer").first
        for _ in range(20):  # NLU details arrive from Rasa's tracker just after the reply
            if await customer_turn.locator(".intent").count():
                break
            await agent.wait_for_timeout(250)
            await agent.reload()
        await expect(customer_turn.locator(".intent")).to_have_text("greet")

        # the queue page picks up the customer's request for a person without a reload
        await agent.goto(f"{svc.url}/console/queue")
        await expect(agent.locator("#agents-online")).to_have_text("1")
        await customer.locator("button.person").click()
        waiting = agent.locator(f'#waiting-list li[data-id="{conv_id}"]')
        await expect(waiting).to_be_visible()
        await expect(customer.locator(".msg.system").last).to_contain_text("an agent will join shortly")

        # take over; the customer sees the agent's name
        await waiting.locator("button").click()
        await expect(agent).to_have_url(f"{svc.url}/console/conversations/{conv_id}")
        await expect(customer.locator(".status")).to_have_text("You're chatting with Ann Agent.")
        assert (await svc.services.rasa.tracker(conv_id))["paused"] is True

        # both ways, in real time
        await agent.fill("#composer-text", "Hi, I'm Ann. What can I do for you?")
        await agent.click('#composer button[type="submit"]')
        agent_msg = customer.locator(".msg.agent").last
        await expect(agent_msg).to_contain_text("Hi, I'm Ann. What can I do for you?")
        await expect(agent_msg.locator(".name")).to_have_text("Ann Agent")
        bots_before = await bot_msgs.count()
        await say(customer, "hello")  # Rasa would greet; while Ann has the chat it must stay silent
        await say(customer, XSS)
        await expect(agent.locator("#turns li.turn-customer").last).to_contain_text(XSS)  # live, and literal
        await customer.wait_for_timeout(1500)
        assert await bot_msgs.count() == bots_before
        history = svc.services.store.history(conv_id)
        claimed_at = max(t["seq"] for t in history if t["text"] == "Ann Agent joined the conversation.")
        assert [t for t in history if t["seq"] > claimed_at and t["speaker"] == "bot"] == []

        # hand back: Rasa resumes and answers the next message
        await agent.click("#handback")
        await expect(agent.locator("#claim")).to_be_visible()
        await expect(customer.locator(".status")).to_have_text("")
        assert (await svc.services.rasa.tracker(conv_id))["paused"] is False
        await say(customer, "hello")
        await expect(bot_msgs).to_have_count(bots_before + 1)
        await expect(bot_msgs.last).to_contain_text(GREETING)

        # close: the customer is asked for a rating
        await agent.click("#close")
        await expect(agent.locator("#conv-status")).to_have_text("closed")
        await expect(customer.locator(".csat")).to_be_visible()
        assert svc.services.store.get_conversation(conv_id)["status"] == "closed"

        # nothing hostile ran anywhere
        await agent.reload()
        await expect(agent.locator("#turns")).to_contain_text(XSS)
        for page in (customer, agent):
            assert await page.evaluate("window.__xss") is None
        assert errors == []
        await browser.close()
