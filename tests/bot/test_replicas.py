"""Two bot-service replicas as real processes on one PostgreSQL and a Redis hub, behind a failover front.

A customer's widget (real Chromium) is on replica A, an agent's console on replica B: the handoff, the
takeover and messages both ways cross replicas at once. Then replica A is SIGKILLed while the customer
waits for an answer: the widget reconnects (to B), resends, and the message is stored once and answered
once."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import sys
import time

import httpx
import pytest
from playwright.async_api import async_playwright, expect
from sqlalchemy import select

from bench.front import Front
from bot.console.accounts import Accounts
from core.store.db import Database
from core.store.models import Turn
from tests.bot.test_widget_browser import CHROMIUM_ARGS, widget
from tests.support import free_port, start, stop, wait_http

pytestmark = [pytest.mark.contract, pytest.mark.browser, pytest.mark.postgres]
PASSWORD = "correct horse battery staple"


@pytest.fixture
def replicas(postgres_url, redis_server, rasa_server, tmp_path):
    db = Database(postgres_url)
    db.migrate()
    Accounts(db).add("ann", PASSWORD, "agent", "Ann Agent")
    ports = [free_port(), free_port()]
    env = {"SUPPORTBOT_DATABASE_URL": postgres_url, "SUPPORTBOT_HUB_URL": redis_server.url(),
           "SUPPORTBOT_RASA_URL": rasa_server.url, "SUPPORTBOT_RASA_TRACKER_URL": rasa_server.tracker_url,
           "SUPPORTBOT_CONSOLE_SECRET_KEY": "replicas-share-this-key", "SUPPORTBOT_VAR_DIR": str(tmp_path)}
    procs = [start([sys.executable, "-m", "bot.serve"], tmp_path / f"bot-{i}.log",
                   env={**env, "SUPPORTBOT_PORT": str(port)}) for i, port in enumerate(ports)]
    try:
        for proc, port in zip(procs, ports):
            wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=proc)
        yield db, procs, ports
    finally:
        for proc in procs:
            stop(proc)
        db.dispose()


async def agent_console(url: str) -> httpx.AsyncClient:
    """An agent logged in to the console of one replica (its CSRF token in the X-CSRF-Token header)."""
    client = httpx.AsyncClient(base_url=url, timeout=20)
    page = await client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await client.post("/console/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 303, r.text
    page = await client.get("/console/conversations")
    client.headers["X-CSRF-Token"] = re.search(r'<meta name="csrf-token" content="([^"]+)"', page.text).group(1)
    return client


async def follow(client: httpx.AsyncClient, path: str, into: list[dict]) -> None:
    async with client.stream("GET", path, timeout=None) as r:
        async for line in r.aiter_lines():
            if line.startswith("data: "):
                into.append(json.loads(line[6:]))


async def until(condition, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while not (found := condition()):
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.1)
    return found


async def test_customer_on_one_replica_agent_on_the_other_and_a_replica_killed_mid_answer(replicas):
    db, procs, (port_a, port_b) = replicas
    front = Front([port_a, port_b], policy="first")
    await front.start()
    agent = await agent_console(f"http://127.0.0.1:{port_b}")
    queue: list[dict] = []
    streams = [asyncio.ensure_future(follow(agent, "/api/console/events", queue))]
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            page = await browser.new_page()
            w = widget(page)
            await page.goto(f"{front.url}/")
            await w.get_by_role("button", name=re.compile("Open chat")).click()
            box = w.get_by_role("textbox", name="Type your message")
            await box.fill("hello")
            await box.press("Enter")
            await expect(w.get_by_text("Hello! How can I help you today?")).to_be_visible(timeout=15_000)
            assert set(front.connections) == {port_a}

            # the customer asks for a person on A; the agent's console on B sees it and takes over
            await w.get_by_role("button", name="Talk to a person").click()
            handoff = await until(lambda: next((e for e in queue if e["type"] == "handoff"), None))
            conv = handoff["conversation_id"]
            assert handoff["agents_online"] == 1  # the agent is online on the other replica
            transcript: list[dict] = []
            streams.append(asyncio.ensure_future(follow(agent, f"/api/console/events?conversation={conv}",
                                                        transcript)))
            await until(lambda: any(e["type"] == "hello" for e in transcript))
            r = await agent.post(f"/api/console/conversations/{conv}/claim")
            assert r.status_code == 200, r.text
            await expect(w.get_by_role("status")).to_contain_text("chatting with Ann Agent", timeout=10_000)
            r = await agent.post(f"/api/console/conversations/{conv}/messages", json={"text": "Hi, Ann here."})
            assert r.status_code == 200, r.text
            await expect(w.locator(".msg.agent .text")).to_have_text(["Hi, Ann here."], timeout=10_000)
            await box.fill("my card is lost")
            await box.press("Enter")
            await until(lambda: any(e.get("text") == "my card is lost" for e in transcript))
            r = await agent.post(f"/api/console/conversations/{conv}/handback")
            assert r.status_code == 200, r.text

            # back to the bot; A dies while the customer waits for a slow answer
            await box.fill("run the slow report")
            await box.press("Enter")
            sent = w.locator(".msg.customer").filter(has_text="run the slow report")
            await expect(sent).not_to_have_class(re.compile("pending"), timeout=10_000)  # acknowledged by A
            procs[0].send_signal(signal.SIGKILL)
            await expect(w.get_by_role("status")).to_contain_text("reconnecting", ignore_case=True, timeout=10_000)
            await expect(w.get_by_text("Here is your slow report.")).to_be_visible(timeout=30_000)
            assert front.connections[-1] == port_b
            await expect(w.locator(".msg.bot").filter(has_text="Here is your slow report.")).to_have_count(1)
            await expect(sent).to_have_count(1)
        finally:
            await browser.close()
    for task in streams:
        task.cancel()
    await agent.aclose()
    await front.close()

    with db.session() as s:
        turns = s.execute(select(Turn.speaker, Turn.text, Turn.answered).where(Turn.conversation_id == conv)
                          .order_by(Turn.seq)).all()
    customer = [t.text for t in turns if t.speaker == "customer"]
    assert customer == ["hello", "my card is lost", "run the slow report"]  # each once
    assert [t.text for t in turns if t.speaker == "bot"].count("Here is your slow report.") == 1
    assert [t.answered for t in turns if t.text == "run the slow report"] == [True]
