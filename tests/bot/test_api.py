"""`POST /api/messages`, API keys from the real `supportbot apikey` CLI, health and the OpenAPI page."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import httpx
import pytest

from tests.support import ROOT

pytestmark = pytest.mark.contract


def cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "SUPPORTBOT_DATABASE_URL": db_url}
    return subprocess.run([sys.executable, "-m", "bot.cli", "apikey", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def api_key(sqlite_url) -> str:
    done = cli(sqlite_url, "create", "--name", "crm-test")
    assert done.returncode == 0, done.stderr
    assert "cannot be shown again" in done.stderr
    return json.loads(done.stdout)["key"]


async def test_messages_api_answers_and_keeps_the_session(service_factory, api_key, sqlite_url):
    async with service_factory() as svc, httpx.AsyncClient(base_url=svc.url) as http:
        auth = {"Authorization": f"Bearer {api_key}"}
        first = await http.post("/api/messages", json={"text": "hello"}, headers=auth)
        assert first.status_code == 200, first.text
        body = first.json()
        assert body["answered"] is True and body["status"] == "bot"
        [reply] = body["replies"]
        assert reply["text"] == "Hello! How can I help you today?"
        assert reply["buttons"][0] == {"title": "Opening hours", "payload": "/ask_hours"}

        again = await http.post("/api/messages", headers=auth, json={
            "session_id": body["session_id"], "text": "what are your opening hours", "message_id": "crm-42"})
        hours = again.json()
        assert hours["conversation_id"] == body["conversation_id"]
        assert hours["replies"][0]["sources"][0]["url"] == "https://bank.example/help/hours"
        retry = await http.post("/api/messages", headers=auth, json={
            "session_id": body["session_id"], "text": "what are your opening hours", "message_id": "crm-42"})
        assert retry.json()["duplicate"] is True and retry.json()["replies"] == hours["replies"]

        history = await http.get(f"/api/sessions/{body['session_id']}/history", headers=auth)
        assert [t["speaker"] for t in history.json()["turns"]] == ["customer", "bot", "customer", "bot"]

        # another key cannot reach this session
        other = json.loads(cli(sqlite_url, "create", "--name", "other").stdout)["key"]
        stolen = await http.post("/api/messages", headers={"Authorization": f"Bearer {other}"},
                                 json={"session_id": body["session_id"], "text": "hi"})
        assert stolen.status_code == 404 and stolen.json()["error"] == "unknown_session"


async def test_messages_api_rejects_bad_input_clearly(service_factory, api_key):
    async with service_factory() as svc, httpx.AsyncClient(base_url=svc.url) as http:
        auth = {"Authorization": f"Bearer {api_key}"}
        cases = [
            (dict(content=b"{not json", headers={**auth, "Content-Type": "application/json"}), 400, "invalid_json"),
            (dict(content=b"plain words", headers=auth), 400, "invalid_json"),
            (dict(json={"txt": "hi"}, headers=auth), 400, "invalid_request"),
            (dict(json={"text": "   "}, headers=auth), 422, "empty_message"),
            (dict(json={"text": "x" * 100_000}, headers=auth), 413, "body_too_large"),  # over max_body_bytes
            (dict(json={"text": "x" * 30_000}, headers=auth), 413, "message_too_long"),
            (dict(content=json.dumps({"text": "bad \ud800 half"}).encode(),  # JSON may carry a lone surrogate
                  headers={**auth, "Content-Type": "application/json"}), 422, "invalid_text"),
            (dict(json={"text": "nul \u0000 byte"}, headers=auth), 422, "invalid_text"),
            (dict(json={"text": "x" * 4001}, headers=auth), 413, "message_too_long"),
            (dict(json={"text": "hi", "session_id": "made-up"}, headers=auth), 404, "unknown_session"),
            (dict(json={"text": "hi"}), 401, "unauthorized"),
            (dict(json={"text": "hi"}, headers={"Authorization": "Bearer sbk_nope_nope"}), 401, "unauthorized"),
        ]
        for kwargs, status, code in cases:
            r = await http.post("/api/messages", **kwargs)
            assert (r.status_code, r.json()["error"]) == (status, code), (kwargs.get("json"), r.text)
            assert r.json()["message"]  # says what to do
        assert (await http.get("/healthz")).json() == {"status": "ok", "store": True, "rasa": True}


async def test_a_revoked_key_stops_working(service_factory, api_key, sqlite_url):
    async with service_factory() as svc, httpx.AsyncClient(base_url=svc.url) as http:
        auth = {"Authorization": f"Bearer {api_key}"}
        assert (await http.post("/api/messages", json={"text": "hello"}, headers=auth)).status_code == 200
        listed = json.loads(cli(sqlite_url, "list").stdout)
        assert [k["name"] for k in listed] == ["crm-test"] and api_key not in json.dumps(listed)
        assert cli(sqlite_url, "revoke", listed[0]["prefix"]).returncode == 0
        r = await http.post("/api/messages", json={"text": "hello"}, headers=auth)
        assert r.status_code == 401 and "revoked" in r.json()["message"]
        assert "No API key" in cli(sqlite_url, "revoke", "999").stderr


async def test_openapi_page_and_widget_assets_are_served(service_factory):
    async with service_factory() as svc, httpx.AsyncClient(base_url=svc.url) as http:
        spec = (await http.get("/openapi.json")).json()
        assert "/api/messages" in spec["paths"]
        assert "bearer" in json.dumps(spec["paths"]["/api/messages"]).lower() or "authorization" in json.dumps(
            spec["paths"]["/api/messages"]).lower()
        docs = await http.get("/docs")
        assert docs.status_code == 200 and "swagger" in docs.text.lower()
        js = await http.get("/widget.js")
        assert js.headers["content-type"].startswith("text/javascript") and "attachShadow" in js.text
        assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write", js.text)  # text only
        demo = await http.get("/")
        assert demo.text.count("<script") == 1 and 'src="/widget.js"' in demo.text
