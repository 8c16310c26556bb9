"""Personal data is masked in the console for an agent (transcript, list, search results), and an admin
can reveal it, which writes an audit event, in real headless Chromium against the real bot service."""

from __future__ import annotations

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from bot.console.accounts import Accounts
from core.store.models import AuditEvent
from privacy import get_engine
from tests.console.conftest import PASSWORD
from tests.console.test_browser import CHROMIUM_ARGS
from tests.privacy.conftest import World
from tests.tiny_rasa import running_service

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]
NO_RASA = "http://127.0.0.1:8653"  # nothing is sent to the bot: the conversation is already stored
TURNS = [("customer", "Hello, I am Rhiannon Okafor, write to rhiannon.okafor@example.com"),
         ("bot", "Thanks, how can I help?"),
         ("customer", "Please send the new card to 221B Baker Street, London NW1 6XE")]


async def log_in(page, url: str, username: str) -> None:
    await page.goto(f"{url}/console/login")
    await page.fill('input[name="username"]', username)
    await page.fill('input[name="password"]', PASSWORD)
    await page.click('button[type="submit"]')
    await expect(page.locator("h1")).to_have_text("Conversations")


async def test_agent_sees_masked_data_and_an_admin_reveals_it_with_an_audit_event(sqlite_url, tmp_path):
    get_engine().warm_up()  # the models load once per process (the service also starts this in the background)
    world = World(sqlite_url, tmp_path)
    conv = world.customer(TURNS, contact="rhiannon.okafor@example.com", status="closed")
    Accounts(world.db).add("ann", PASSWORD, "agent", "Ann Agent")
    Accounts(world.db).add("root", PASSWORD, "admin", "Ada Admin")
    async with running_service(sqlite_url, NO_RASA, var_dir=tmp_path / "var") as svc, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        agent = await (await browser.new_context()).new_page()
        await log_in(agent, svc.url, "ann")
        row = agent.locator("tr.conversation-row").first
        await expect(row.locator("td.preview")).to_contain_text("[NAME]")
        assert "Okafor" not in await agent.content()

        await agent.fill('input[name="q"]', "Okafor")  # search still finds the person, shows no data
        await agent.click('#filters button[type="submit"]')
        await expect(agent.locator("tr.conversation-row")).to_have_count(1)
        assert "Okafor" not in await agent.locator("table").first.inner_html()  # (the box keeps the query)

        await agent.goto(f"{svc.url}/console/conversations/{conv.conversation_id}")
        turns = agent.locator("#turns li.turn .text")
        await expect(turns.first).to_contain_text("[NAME]")
        await expect(turns.first).to_contain_text("[EMAIL]")
        await expect(turns.nth(2)).to_contain_text("[ADDRESS]")
        await expect(agent.locator("#pii-masked")).to_contain_text("masked")
        await expect(agent.locator("#reveal")).to_have_count(0)
        html = await agent.content()
        assert "Okafor" not in html and "Baker Street" not in html and "rhiannon.okafor@" not in html
        denied = await agent.evaluate(
            """async (id) => (await fetch(`/api/console/conversations/${id}/reveal`, {method: "POST",
                 headers: {"X-CSRF-Token": document.querySelector('input[name="csrf_token"]').value}})).status""",
            conv.conversation_id)
        assert denied == 403

        admin = await (await browser.new_context()).new_page()
        await log_in(admin, svc.url, "root")
        await admin.goto(f"{svc.url}/console/conversations/{conv.conversation_id}")
        await expect(admin.locator("#turns li.turn .text").first).to_contain_text("[NAME]")
        await admin.click("#reveal")
        await expect(admin.locator("#pii-revealed")).to_be_visible()
        await expect(admin.locator("#turns li.turn .text").first).to_contain_text("Rhiannon Okafor")
        await expect(admin.locator("#turns li.turn .text").nth(2)).to_contain_text("221B Baker Street")
        await admin.goto(f"{svc.url}/console/conversations/{conv.conversation_id}")  # a reveal lasts one view
        await expect(admin.locator("#turns li.turn .text").first).to_contain_text("[NAME]")
        await browser.close()
    with world.db.session() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action == "reveal")).all()
    assert [(e.actor, e.target) for e in events] == [("root", f"conversation:{conv.conversation_id}")]
    world.close()
