"""Who may reach what: nothing without a login, admins only where it says so, CSRF everywhere,
login rate-limited, cookies locked down, and customers' widget tokens never open the console."""

from __future__ import annotations

import dataclasses
import hashlib
import re

from fastapi.routing import APIRoute

from bot.app import create_app
from bot.console.accounts import Accounts
from tests.console import seed
from tests.console.conftest import PASSWORD, login

PUBLIC = {"/console/login", "/console/static"}


def flat_routes(routes) -> list:
    """Routes of the app, looking inside included routers (FastAPI wraps them)."""
    out = []
    for r in routes:
        inner = getattr(r, "original_router", None)
        out += flat_routes(inner.routes) if inner is not None else [r]
    return out


def console_routes(app) -> list[tuple[str, str]]:
    out = []
    for r in flat_routes(app.routes):
        if isinstance(r, APIRoute) and r.path.startswith(("/console", "/api/console")) and r.path not in PUBLIC:
            for method in r.methods:
                out.append((method, r.path.replace("{conversation_id}", "c1").replace("{turn_id}", "1")
                            .replace("{username}", "ann").replace("{action}", "disable")))
    return out


def test_every_console_route_refuses_a_logged_out_request(app, client_for):
    client = client_for(None)
    routes = console_routes(app)
    assert len(routes) >= 25  # the list really covers the console
    for method, path in routes:
        r = client.request(method, path, follow_redirects=False)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code)
            assert "log in" in r.json()["message"].lower()
        else:
            assert r.status_code == 303 and r.headers["location"].startswith("/console/login"), (method, path)


def test_widget_tokens_and_api_keys_never_open_the_console(app, services, client_for):
    client = client_for(None)
    token = "w" * 43
    services.store.create_session(hashlib.sha256(token.encode()).hexdigest())
    for headers, cookies in [({"Authorization": f"Bearer {token}"}, {}), ({}, {"sb_console": token}),
                             ({}, {"supportbot_token": token})]:
        client.cookies.clear()
        for k, v in cookies.items():
            client.cookies.set(k, v)
        r = client.get("/api/console/conversations", headers=headers)
        assert r.status_code == 401


def test_agents_cannot_reach_admin_pages(client_for, services):
    agent, admin = client_for("agent"), client_for("admin")
    conv = seed.conversation(services.store, [{"text": "hm", "intent": "nlu_fallback", "confidence": 0.2}])
    for path in ("/console/review", "/console/admin/users", "/api/console/review"):
        assert agent.get(path).status_code == 403, path
        assert admin.get(path).status_code == 200, path
    turn = conv["customer"][0]
    r = agent.post(f"/api/console/turns/{turn}/review", headers={"X-CSRF-Token": agent.csrf})
    assert r.status_code == 403 and "admin" in r.json()["message"]
    r = agent.post("/console/admin/users", data={"csrf_token": agent.csrf, "username": "mallory",
                                                 "password": PASSWORD, "role": "admin"}, follow_redirects=False)
    assert r.status_code == 403
    assert [u["username"] for u in Accounts(services.db).list()] == ["ann", "bob", "root"]
    # the admin can: review and add an account
    assert admin.post(f"/api/console/turns/{turn}/review", headers={"X-CSRF-Token": admin.csrf}).json()["reviewed"]
    r = admin.post("/console/admin/users", data={"csrf_token": admin.csrf, "username": "cat", "password": PASSWORD,
                                                 "role": "agent"}, follow_redirects=False)
    assert r.status_code == 303 and "cat" in [u["username"] for u in Accounts(services.db).list()]


def test_csrf_is_required_on_every_state_change(client_for, services):
    ann, bob = client_for("agent"), client_for("agent2")
    conv = seed.conversation(services.store, [{"text": "hello", "intent": "greet", "confidence": 0.9}])
    url = f"/api/console/conversations/{conv['id']}/claim"
    assert ann.post(url).status_code == 403                                        # no token
    assert ann.post(url, headers={"X-CSRF-Token": "x" * 43}).status_code == 403    # a made-up one
    assert ann.post(url, headers={"X-CSRF-Token": bob.csrf}).status_code == 403    # another session's
    assert ann.post(url, headers={"X-CSRF-Token": "é".encode("latin-1")}).status_code == 403  # not even ASCII
    r = ann.post(url, headers={"X-CSRF-Token": ann.csrf, "Origin": "https://evil.example"})
    assert r.status_code == 403 and "Cross-site" in r.json()["message"]
    form = ann.post(f"/console/conversations/{conv['id']}/claim", data={"csrf_token": "nope"}, follow_redirects=False)
    assert form.status_code == 403 and "expired" in form.text
    assert services.store.get_conversation(conv["id"])["status"] == "bot"          # nothing happened
    ok = ann.post(f"/console/conversations/{conv['id']}/claim", data={"csrf_token": ann.csrf},
                  headers={"Origin": "http://console.test"}, follow_redirects=False)
    assert ok.status_code == 303
    assert services.store.get_conversation(conv["id"])["status"] == "human"
    # logout is a state change too
    assert ann.post("/console/logout", follow_redirects=False).status_code == 403


def test_every_form_on_every_page_carries_the_csrf_token(client_for, services):
    admin = client_for("admin")
    conv = seed.conversation(services.store, [{"text": "hi", "intent": "nlu_fallback", "confidence": 0.1,
                                               "candidates": [{"text": "Hello!", "score": 0.4}]}])
    for path in ("/console/conversations", f"/console/conversations/{conv['id']}", "/console/queue",
                 "/console/review", "/console/admin/users"):
        html = admin.get(path).text
        posts = re.findall(r'<form method="post".*?</form>', html, re.S)
        for form in posts:
            assert f'name="csrf_token" value="{admin.csrf}"' in form, (path, form[:200])
    assert len(re.findall(r'<form method="post"', admin.get(f"/console/conversations/{conv['id']}").text)) >= 5


def test_login_form_needs_its_token_and_login_is_rate_limited(app, users, client_for, services):
    client = client_for(None)
    client.get("/console/login")
    r = client.post("/console/login", data={"username": "ann", "password": PASSWORD, "csrf_token": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403
    for _ in range(services.settings.console_login_max_failures):
        assert login(client, "ann", "wrong password!").status_code == 401
    r = login(client, "ann", PASSWORD)  # right password, but too many failures in the window
    assert r.status_code == 429 and "Too many failed logins" in r.text
    assert client.get("/api/console/conversations").status_code == 401


def test_session_cookie_flags_and_secure_behind_tls(app, users, client_for, services):
    client = client_for(None)
    r = login(client, "ann")
    cookie = r.headers["set-cookie"]
    assert "sb_console=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie
    # X-Forwarded-Proto from a peer that is not a trusted proxy is ignored
    page = client_for(None).get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" not in page.headers["set-cookie"]
    # behind a trusted TLS-terminating proxy: the proxy says so, and the cookies become Secure
    behind = create_app(dataclasses.replace(services, settings=services.settings.model_copy(
        update={"trusted_proxies": ["10.0.0.0/8"]})))
    proxied = TestClient(behind, base_url="http://console.test", client=("10.1.2.3", 40000))
    page = proxied.get("/console/login", headers={"X-Forwarded-Proto": "https"})
    assert "; Secure" in page.headers["set-cookie"]
    tls = client_for(None, base_url="https://console.test")
    r = login(tls, "ann")
    assert r.status_code == 303 and "; Secure" in r.headers["set-cookie"]
    assert "__Host-sb_console=" in r.headers["set-cookie"]  # over TLS the cookie cannot be set by a subdomain
    assert tls.get("/api/console/queue").status_code == 200


def test_logout_password_change_and_disable_end_sessions(client_for, services):
    ann, ann2, bob = client_for("agent"), client_for("agent"), client_for("agent2")
    assert ann.post("/console/logout", data={"csrf_token": ann.csrf}, follow_redirects=False).status_code == 303
    assert ann.get("/api/console/queue").status_code == 401
    assert ann2.get("/api/console/queue").status_code == 200  # the other browser is still logged in
    Accounts(services.db).set_password("ann", "another long password")
    assert ann2.get("/api/console/queue").status_code == 401
    Accounts(services.db).set_disabled("bob")
    assert bob.get("/api/console/queue").status_code == 401
    assert login(client_for(None), "bob").status_code == 401


def test_open_redirects_are_refused(app, users, client_for):
    client = client_for(None)
    page = client.get("/console/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = client.post("/console/login", data={"username": "ann", "password": PASSWORD, "csrf_token": token,
                                            "next": "//evil.example/console"}, follow_redirects=False)
    assert r.headers["location"] == "/console/conversations"
