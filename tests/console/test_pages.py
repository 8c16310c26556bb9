"""The console's pages and JSON API over the real app factory: transcripts show everything the
issue asks for and render hostile text inert; actions answer JSON or redirect; errors are clear."""

from __future__ import annotations

import re

from bs4 import BeautifulSoup
from fastapi.testclient import TestClient

from bot.app import build_services, create_app
from tests.console import seed
from tests.console.conftest import make_settings
from tests.support import free_port

XSS = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2"><a href="javascript:alert(1)">x</a>'


def test_transcript_shows_nlu_sources_candidates_versions_feedback(client_for, services):
    ann = client_for("agent")
    conv = seed.conversation(services.store, [{
        "text": "the card ending 4821 is not working", "intent": "card_not_working", "confidence": 0.87,
        "entities": [{"entity": "card_last4", "value": "4821"}], "action": "action_answer_question",
        "reply": "Try restarting the card in the app.", "feedback": -1,
        "sources": [{"title": "Card troubleshooting", "url": "https://bank.example/kb/cards", "score": 0.83,
                     "passages": [{"paragraph": 1, "text": "Restart the card in the app …"}]},
                    {"title": "Sneaky", "url": "javascript:alert(1)", "score": 0.1}],
        "candidates": [{"text": "Try restarting the card in the app.", "score": 0.71},
                       {"text": "Order a replacement card.", "score": 0.55}],
        "model_versions": {"responses": "v7", "kb_index": "idx-3"}}], csat=2)
    r = ann.post(f"/api/console/turns/{conv['bot'][0]}/corrections", json={"kind": "reply",
                 "candidate": "Order a replacement card."}, headers={"X-CSRF-Token": ann.csrf})
    assert r.status_code == 200 and r.json()["value"] == "Order a replacement card."
    page = ann.get(f"/console/conversations/{conv['id']}")
    soup = BeautifulSoup(page.text, "html.parser")
    customer, bot = soup.select("li.turn-customer")[0], soup.select("li.turn-bot")[0]
    assert "card_not_working" in customer.text and "0.87" in customer.text and "card_last4=4821" in customer.text
    assert "action_answer_question" in bot.text and "0.83" in bot.text
    assert [a["href"] for a in bot.select(".sources a")] == ["https://bank.example/kb/cards"]  # javascript: dropped
    assert "Sneaky" in bot.text
    [used] = bot.select(".sources .passages q")  # the paragraphs the KB answer showed
    assert used.text == "Restart the card in the app …" and used["title"] == "paragraph 1"
    assert [li.text.split(" 0.")[0].strip() for li in bot.select(".candidates li")] == [
        "Try restarting the card in the app.", "Order a replacement card."]
    assert "responses: v7" in bot.text and "kb_index: idx-3" in bot.text
    assert "👎 customer" in bot.text
    assert "corrected by Ann Agent" in bot.text and "Order a replacement card." in bot.select_one(".corrected").text
    assert "CSAT 2/5" in soup.select_one(".summary").text
    for turn in soup.select("li.turn"):
        assert turn.select_one("time")["datetime"]


def test_hostile_text_renders_inert(client_for, services):
    ann = client_for("agent")
    conv = seed.conversation(services.store, [{"text": XSS, "intent": "greet", "confidence": 0.9, "reply": XSS,
                                               "candidates": [{"text": XSS, "score": 0.5}]}])
    for path in (f"/console/conversations/{conv['id']}", "/console/conversations", "/console/conversations?q=script"):
        page = ann.get(path)
        assert page.status_code == 200
        soup = BeautifulSoup(page.text, "html.parser")
        assert [s.get("src") for s in soup.find_all("script")] == ["/console/static/inbox.js",
                                                                   "/console/static/console.js"]
        assert soup.find("img") is None and not soup.select('a[href^="javascript"]')
        assert "<script>window.__xss=1</script>" in soup.get_text()  # shown literally
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
    data = ann.get(f"/api/console/conversations/{conv['id']}").json()
    assert data["turns"][0]["text"] == XSS  # the API returns data; escaping is the page's job


def test_actions_over_the_json_api(client_for, services):
    ann, bob = client_for("agent"), client_for("agent2")
    conv = seed.conversation(services.store, [{"text": "hello", "intent": "greet", "confidence": 0.9}])
    base = f"/api/console/conversations/{conv['id']}"
    h_ann, h_bob = {"X-CSRF-Token": ann.csrf}, {"X-CSRF-Token": bob.csrf}
    assert ann.post(f"{base}/claim", headers=h_ann).json()["status"] == "human"
    taken = bob.post(f"{base}/claim", headers=h_bob)
    assert taken.status_code == 409 and "Ann Agent already has" in taken.json()["message"]
    sent = ann.post(f"{base}/messages", json={"text": "Hi, Ann here."}, headers=h_ann)
    assert sent.status_code == 200 and sent.json()["speaker"] == "agent"
    assert bob.post(f"{base}/messages", json={"text": "me too"}, headers=h_bob).status_code == 409
    bad = ann.post(f"{base}/messages", content=b"{not json", headers={**h_ann, "Content-Type": "application/json"})
    assert bad.status_code == 422 and "not valid JSON" in bad.json()["message"]
    assert ann.post(f"{base}/messages", json={"text": ""}, headers=h_ann).status_code == 422
    huge = ann.post(f"{base}/messages", json={"text": "x" * 20000}, headers=h_ann)  # under max_body_bytes
    assert huge.status_code == 422
    queue = ann.get("/api/console/queue").json()
    assert [c["id"] for c in queue["mine"]] == [conv["id"]]
    assert ann.post(f"{base}/handback", headers=h_ann).json()["status"] == "bot"
    assert ann.post(f"{base}/close", headers=h_ann).json()["status"] == "closed"
    history = [t["text"] for t in services.store.history(conv["id"])]
    assert "Hi, Ann here." in history and "me too" not in history
    missing = ann.post("/api/console/conversations/nope/claim", headers=h_ann)
    assert missing.status_code == 404
    assert ann.get("/console/conversations/nope").status_code == 404
    assert "No conversation" in ann.get("/console/conversations/nope").text


def test_forms_redirect_back_and_bad_filters_explain(client_for, services):
    ann = client_for("agent")
    conv = seed.conversation(services.store, [{"text": "hello", "intent": "greet", "confidence": 0.9}])
    r = ann.post(f"/console/conversations/{conv['id']}/claim", data={"csrf_token": ann.csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/console/conversations/{conv['id']}"
    page = ann.get(r.headers["location"]).text
    assert 'id="composer"' in page and 'id="handback"' in page
    r = ann.post(f"/console/conversations/{conv['id']}/messages", data={"csrf_token": ann.csrf, "text": "Hello!"},
                 follow_redirects=False)
    assert r.status_code == 303
    r = ann.post(f"/console/turns/{conv['customer'][0]}/corrections",
                 data={"csrf_token": ann.csrf, "kind": "out_of_scope"}, follow_redirects=False)
    assert r.headers["location"].endswith(f"#turn-{conv['customer'][0]}")
    bad = ann.get("/console/conversations?date_from=tomorrow")
    assert bad.status_code == 422 and "2026-01-31" in bad.text
    assert ann.get("/api/console/conversations?status=nope").json()["message"].startswith("status must be")


def test_list_page_filters_and_pages(client_for, services):
    ann = client_for("agent")
    for i in range(services.settings.console_page_size + 3):
        seed.conversation(services.store, [{"text": f"question number {i}", "intent": "card_arrival",
                                            "confidence": 0.9}])
    page = ann.get("/console/conversations?intent=card_arrival")
    soup = BeautifulSoup(page.text, "html.parser")
    assert len(soup.select("tr.conversation-row")) == services.settings.console_page_size
    nxt = soup.select_one("#next-page")["href"]
    assert "intent=card_arrival" in nxt and "cursor=" in nxt
    rest = BeautifulSoup(ann.get(nxt).text, "html.parser").select("tr.conversation-row")
    assert len(rest) == 3
    assert soup.select_one('select[name="status"]') and soup.select_one('input[name="q"]')
    assert soup.select_one('input[name="low_confidence"]') and soup.select_one('input[name="negative"]')


def test_a_dead_store_answers_503_not_a_crash(tmp_path):
    dead = f"postgresql://postgres@127.0.0.1:{free_port()}/nowhere"
    app = create_app(build_services(make_settings(dead, tmp_path)))
    with TestClient(app) as client:
        client.cookies.set("sb_console", "x" * 43)
        r = client.get("/api/console/queue")
        assert r.status_code == 503 and "unavailable" in r.json()["message"]
        page = client.get("/console/conversations")
        assert page.status_code == 503 and re.search("try again", page.text)
