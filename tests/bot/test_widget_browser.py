"""The widget in real headless Chromium, embedded with one script tag in a host page on another origin.

Open it with the keyboard at 360 px, send a message, see the reply and its quick-reply buttons, click
one, give feedback, reload and see the history, send an XSS payload (and get one from the bot and
from an agent) that shows literally and never runs, keep typing through a dropped connection, and
rate the conversation at the end.
"""

from __future__ import annotations

import sys

import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from core.store.models import Conversation, Turn
from tests.bot.test_handoff_flow import make_agent
from tests.support import free_port, start, stop, wait_http

pytestmark = pytest.mark.browser

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--no-first-run"]
XSS = '<img src=x onerror="window.__xss_customer=1"><script>window.__xss_customer=2</script>'
AGENT_XSS = '<svg onload="window.__xss_agent=1">on it</svg>'
HOST_PAGE = """<!doctype html>
<html><head><meta name="viewport" content="width=device-width, initial-scale=1">
<style>div {{ display: none !important }} button {{ background: red !important; font-size: 40px !important }}</style>
</head><body><h1>Shop</h1><div>host content</div>
<script src="{service}/widget.js" data-title="Shop help" data-color="#0b5fff" defer></script>
</body></html>"""


@pytest.fixture
def host_site(tmp_path):
    """The customer's site: a plain static server on its own origin."""
    port = free_port()
    (tmp_path / "site").mkdir()
    proc = start([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                  "--directory", str(tmp_path / "site")], tmp_path / "site.log")
    wait_http(f"http://127.0.0.1:{port}/", proc=proc, timeout=30)
    yield tmp_path / "site", f"http://127.0.0.1:{port}"
    stop(proc)


def widget(page):
    return page.locator("#supportbot-widget")


async def test_the_widget_in_a_real_browser(service_factory, host_site):
    site_dir, origin = host_site
    port = free_port()
    (site_dir / "index.html").write_text(HOST_PAGE.format(service=f"http://127.0.0.1:{port}"))
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 360, "height": 640})
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        w = widget(page)
        async with service_factory(port=port, allowed_origins=[origin]) as svc:
            await page.goto(f"{origin}/index.html")
            launcher = w.get_by_role("button", name="Open chat: Shop help")
            await launcher.focus()
            await page.keyboard.press("Enter")  # the keyboard opens it and puts the cursor in the box
            panel = w.get_by_role("dialog", name="Shop help")
            await expect(panel).to_be_visible()
            box = await panel.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= 360
            await expect(w.get_by_role("textbox", name="Type your message")).to_be_focused()
            await page.keyboard.type("hello")
            await page.keyboard.press("Enter")
            await expect(w.get_by_text("Hello! How can I help you today?")).to_be_visible(timeout=15_000)
            await w.get_by_role("button", name="Opening hours").click()
            hours = w.locator(".msg.bot").filter(has_text="Our branches are open")
            await expect(hours).to_be_visible(timeout=15_000)
            source = hours.get_by_role("link", name="Opening hours")
            assert await source.get_attribute("href") == "https://bank.example/help/hours"
            await hours.get_by_role("button", name="Helpful", exact=True).click()
            await expect(hours.get_by_role("button", name="Helpful", exact=True)).to_have_attribute("aria-pressed", "true")
            turn_id = int(await hours.get_attribute("data-turn-id"))
            with svc.services.db.session() as s:
                assert s.get(Turn, turn_id).feedback == 1

            await page.reload()  # the session and the conversation survive
            await expect(w.get_by_text("Our branches are open", exact=False)).to_be_visible(timeout=15_000)
            await expect(w.locator(".msg.customer")).to_have_text(["hello", "Opening hours"])

            # XSS from the customer and from the bot: shown as text, never run
            await w.get_by_role("textbox", name="Type your message").fill(XSS)
            await w.get_by_role("button", name="Send", exact=True).click()
            await expect(w.locator(".msg.customer").last).to_have_text(XSS)
            await expect(w.get_by_text("Sorry, I didn't get that. Could you rephrase?")).to_be_visible(timeout=15_000)
            await w.get_by_role("textbox", name="Type your message").fill("show markup")
            await page.keyboard.press("Enter")
            await expect(w.locator(".msg.bot").filter(has_text="<script>window.__xss_bot=2</script>")).to_be_visible(
                timeout=15_000)
        # the service goes away: the widget keeps the message and sends it once it is back
        await expect(w.get_by_role("status")).to_contain_text("reconnecting", ignore_case=True, timeout=10_000)
        await w.get_by_role("textbox", name="Type your message").fill("what is my balance")
        await page.keyboard.press("Enter")
        await expect(w.locator(".msg.customer.pending")).to_have_text(["what is my balance"])
        async with service_factory(port=port, allowed_origins=[origin]) as svc:
            await expect(w.get_by_text("Your balance is 42.00 EUR.")).to_be_visible(timeout=30_000)
            await expect(w.locator(".msg.customer.pending")).to_have_count(0)

            # a person takes over: their message shows with their name, as text
            conv = (await page.evaluate(f"() => JSON.parse(localStorage.getItem('supportbot:127.0.0.1:{port}'))"))
            assert conv["outbox"] == []
            await w.get_by_role("button", name="Talk to a person").click()
            await expect(w.get_by_role("status")).to_contain_text("Waiting for a person", timeout=10_000)
            with svc.services.db.session() as s:
                conv_id = s.execute(select(Conversation.id).where(Conversation.status == "waiting")).scalar_one()
            agent = make_agent(svc.services.db, "Alice Agent")
            await svc.services.handoff.claim(conv_id, agent)
            await svc.services.handoff.agent_message(conv_id, agent, AGENT_XSS)
            from_agent = w.locator(".msg.agent")
            await expect(from_agent.locator(".name")).to_have_text("Alice Agent", timeout=10_000)
            await expect(from_agent.locator(".text")).to_have_text(AGENT_XSS)

            await w.get_by_role("button", name="End chat").click()
            await w.get_by_role("button", name="5 of 5").click()
            await expect(w.get_by_text("Thank you for your feedback!")).to_be_visible(timeout=10_000)
            with svc.services.db.session() as s:
                row = s.get(Conversation, conv_id)
                assert (row.status, row.csat) == ("closed", 5)

            ran = await page.evaluate("() => [window.__xss_customer, window.__xss_bot, window.__xss_agent]")
            assert ran == [None, None, None]
            injected = await page.evaluate(
                "() => document.getElementById('supportbot-widget').shadowRoot.querySelectorAll('img,script,svg,b').length")
            assert injected == 0
        assert page_errors == []
        await browser.close()
