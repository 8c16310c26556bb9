"""A knowledge-base answer through the real widget in headless Chromium, against the whole platform (the
trained demo bot, the action server over the project's KB index, the bot service): one message within
`kb_answer_words` with its source and a working "Show the full article" button; clicking it brings the
rest of the article. The step-up's one-time code typed into the widget shows as its placeholder and is
never kept in the browser's storage."""

from __future__ import annotations

import re
import sqlite3

import pytest
from playwright.async_api import async_playwright, expect

from actions.excerpt import word_count
from actions.formatting import FULL_ARTICLE_BUTTON
from tests.bot.test_widget_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.contract, pytest.mark.browser]

QUESTION = "How much does it cost to top up by bank transfer?"
ARTICLE_URL = "https://help.harborbank.example/articles/top-up-by-bank-transfer-charge"


def db_rows(stack, query: str, *args) -> list[tuple]:
    with sqlite3.connect(stack.settings.db_url.split(":///", 1)[1]) as conn:
        return conn.execute(query, args).fetchall()


async def test_a_kb_answer_and_its_full_article_in_the_real_widget(stack):
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 400, "height": 800})
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        await page.goto(f"{stack.url}/")  # the demo page, the widget embedded with its one script tag
        w = page.locator("#supportbot-widget")
        await w.get_by_role("button", name=re.compile("Open chat")).click()
        box = w.get_by_role("textbox", name="Type your message")
        await box.fill(QUESTION)
        await page.keyboard.press("Enter")

        answer = w.locator(".msg.bot").filter(has=page.get_by_role("button", name=FULL_ARTICLE_BUTTON))
        await expect(answer).to_have_count(1, timeout=60_000)
        await expect(w.locator(".msg.system")).to_have_count(0)  # no "could not answer" notice
        await expect(w.locator(".msg.bot")).to_have_count(1)  # the answer is one message
        text = await answer.locator(".text").inner_text()
        body, source = text.rsplit("\n\n", 1)
        assert source.startswith("Source: Fees for topping up by bank transfer") and source.endswith(ARTICLE_URL)
        assert 5 <= word_count(body) <= stack.settings.kb_answer_words, body
        links = answer.locator(".sources").get_by_role("link")  # the article first, then the runners-up
        assert await links.first.get_attribute("href") == ARTICLE_URL

        await answer.get_by_role("button", name=FULL_ARTICLE_BUTTON).click()
        rest = w.locator(".msg.bot").nth(1)
        await expect(rest).to_contain_text(ARTICLE_URL, timeout=60_000)
        rest_text, rest_source = (await rest.locator(".text").inner_text()).rsplit("\n\n", 1)
        assert rest_source == source
        assert body[:40] not in rest_text and word_count(rest_text) > 5  # the rest of the article, not the excerpt
        await expect(w.locator(".msg.bot")).to_have_count(2)  # the rest is one message too, with its source
        await expect(rest.locator(".sources").get_by_role("link")).to_have_attribute("href", ARTICLE_URL)
        await expect(w.locator(".msg.customer")).to_have_text([QUESTION, FULL_ARTICLE_BUTTON])
        await expect(w.locator(".msg.system")).to_have_count(0)
        assert page_errors == []
        await browser.close()

    [(conv,)] = db_rows(stack, "SELECT conversation_id FROM turns WHERE text = ? ORDER BY id DESC LIMIT 1", QUESTION)
    stored = db_rows(stack, "SELECT speaker, rasa_text, action FROM turns WHERE conversation_id = ? ORDER BY seq", conv)
    assert [s for s, _r, _a in stored] == ["customer", "bot", "customer", "bot"]
    assert stored[2][1].startswith("/show_full_article")  # the offered button's payload reached Rasa
    assert [a for s, _r, a in stored if s == "bot"] == ["action_answer_question", "action_show_full_article"]


async def test_the_one_time_code_is_masked_in_the_widget_and_never_kept_in_the_browser(stack):
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 400, "height": 800})
        await page.goto(f"{stack.url}/")
        w = page.locator("#supportbot-widget")
        await w.get_by_role("button", name=re.compile("Open chat")).click()
        box = w.get_by_role("textbox", name="Type your message")
        for text, expected in (("I lost my card", "four digits"), ("it ends in 7310", "7310"),
                               ("yes", "really you"), ("dana.demo@example.com", "6-digit code")):
            await box.fill(text)
            await page.keyboard.press("Enter")
            await expect(w.locator(".msg.bot").last).to_contain_text(expected, timeout=60_000)
        assert await box.get_attribute("autocomplete") == "one-time-code"
        [(body,)] = db_rows(stack, "SELECT body FROM bank_outbox WHERE customer_id = 'hb-100001' ORDER BY id DESC "
                                   "LIMIT 1")
        code = re.search(r"\b(\d{6})\b", body).group(1)
        await box.fill(code)
        await page.keyboard.press("Enter")
        await expect(w.locator(".msg.customer").last).to_have_text("[ONE_TIME_CODE]")
        await expect(w.locator(".msg.bot").last).to_contain_text("is now blocked", timeout=60_000)
        stored = await page.evaluate("() => JSON.stringify(Object.assign({}, localStorage))")
        assert code not in stored
        assert code not in "".join(await w.locator(".msg").all_inner_texts())
        assert await box.get_attribute("autocomplete") == "off"  # the next answer is an ordinary message
        await browser.close()
