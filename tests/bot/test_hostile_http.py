"""Hostile HTTP against the real service: huge bodies, spoofed proxy headers, password guessing,
an untokened Rasa, and the security headers every page carries."""

from __future__ import annotations

import asyncio
import re

import httpx
import pytest

from bot.console.accounts import Accounts
from bot.web.proxies import ClientAddress
from tests.tiny_rasa import RASA_TOKEN

pytestmark = pytest.mark.contract
PASSWORD = "correct horse battery staple"
MB3 = 3 * 1024 * 1024


async def raw_post(url: str, path: str, chunked: bool, total: int = MB3, kind: str = "application/json"
                   ) -> tuple[int, int]:
    """POST `total` bytes without credentials, paced, stopping once an answer arrives.
    Returns (status, bytes sent before the answer came)."""
    host, port = url.removeprefix("http://").split(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    length = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {total}"
    writer.write(f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {kind}\r\n{length}\r\n\r\n".encode())
    await writer.drain()
    answer = asyncio.ensure_future(reader.readline())
    sent, chunk = 0, b"x" * 65536
    try:
        while sent < total and not answer.done() and chunked:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
            await asyncio.wait({answer}, timeout=0.02)  # paced: the server has time to answer
    except (ConnectionError, OSError):
        pass  # the server closed the connection on us: what we want
    status_line = await asyncio.wait_for(answer, 10)
    writer.close()
    return int(status_line.split()[1]), sent


@pytest.mark.parametrize("path, kind", [("/api/messages", "application/json"),
                                        ("/console/login", "application/x-www-form-urlencoded"),
                                        ("/api/console/conversations/x/claim", "application/json")])
async def test_a_huge_unauthenticated_body_gets_413_without_being_read(service_factory, path, kind):
    async with service_factory() as svc:
        status, sent = await raw_post(svc.url, path, chunked=True, kind=kind)
        # refused after about max_body_bytes, not after 3 MB (a route that checks its login before it reads
        # the body may say 401 first: then nothing was read at all)
        assert status in ((413, 401) if "claim" in path else (413,)) and sent < MB3 // 4
        status, sent = await raw_post(svc.url, path, chunked=False, kind=kind)  # declared: refused before any byte
        assert status == 413 and sent == 0
        async with httpx.AsyncClient(base_url=svc.url) as http:
            r = await http.post(path, content=b"x" * 70_000, headers={"content-type": kind})
        assert r.status_code == 413 and r.json()["error"] == "body_too_large" and r.json()["retry"] is False


def test_forwarded_headers_count_only_from_trusted_proxies():
    resolve = ClientAddress(["10.0.0.0/8", "::1"])
    assert resolve("203.0.113.9", {"x-forwarded-for": "1.2.3.4"}) == "203.0.113.9"  # spoofed: ignored
    assert resolve("10.0.0.2", {"x-forwarded-for": "1.2.3.4"}) == "1.2.3.4"
    assert resolve("10.0.0.2", {"x-forwarded-for": "6.6.6.6, 1.2.3.4, 10.0.0.7"}) == "1.2.3.4"  # rightmost untrusted
    assert resolve("10.0.0.2", {"forwarded": 'for="[2001:db8::1]:443";proto=https'}) == "2001:db8::1"
    assert resolve("10.0.0.2", {"x-forwarded-for": "garbage"}) == "10.0.0.2"
    assert resolve("::1", {}) == "::1"
    with pytest.raises(ValueError, match="SUPPORTBOT_TRUSTED_PROXIES"):
        ClientAddress(["not-a-cidr"])


async def login(http: httpx.AsyncClient, username: str, password: str, address: str | None = None) -> int:
    headers = {"X-Forwarded-For": address} if address else {}
    page = await http.get("/console/login", headers=headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = await http.post("/console/login", data={"username": username, "password": password, "csrf_token": token},
                        headers=headers, follow_redirects=False)
    return r.status_code


async def test_guessing_locks_only_that_user_from_that_address_and_a_spoofed_header_does_not_help(
        service_factory, tmp_path):
    # behind a trusted proxy (the peer, 127.0.0.1): the address is the proxy's X-Forwarded-For
    async with service_factory(trusted_proxies=["127.0.0.1/32"], var_dir=tmp_path / "a") as svc:
        Accounts(svc.services.db).add("ann", PASSWORD)
        async with httpx.AsyncClient(base_url=svc.url) as http:
            for _ in range(5):
                assert await login(http, "ann", "wrong password!", "203.0.113.5") == 401
            assert await login(http, "ann", PASSWORD, "203.0.113.5") == 429  # locked: the password is not even tried
            assert await login(http, "ann", "wrong again", "203.0.113.5") == 429  # guessing never unlocks it
        async with httpx.AsyncClient(base_url=svc.url) as http:
            assert await login(http, "ann", PASSWORD, "198.51.100.7") == 303  # ann elsewhere is not locked out
    # no trusted proxy: a spoofed X-Forwarded-For changes nothing, the peer address is what counts
    async with service_factory(db_url=f"sqlite:///{tmp_path / 'b.db'}", var_dir=tmp_path / "b") as svc:
        Accounts(svc.services.db).add("ann", PASSWORD)
        async with httpx.AsyncClient(base_url=svc.url) as http:
            for i in range(5):
                assert await login(http, "ann", "wrong password!", f"203.0.113.{i}") == 401
            assert await login(http, "ann", PASSWORD, "198.51.100.7") == 429


async def test_parallel_guesses_are_counted_before_the_password_check(service_factory, tmp_path):
    async with service_factory(var_dir=tmp_path / "var") as svc:
        Accounts(svc.services.db).add("bob", PASSWORD)
        async with httpx.AsyncClient(base_url=svc.url, timeout=120) as http:  # each check hashes: slow on 2 cores
            page = await http.get("/console/login")
            token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
            form = {"username": "bob", "password": "wrong password!", "csrf_token": token}
            codes = await asyncio.gather(*[http.post("/console/login", data=form, follow_redirects=False)
                                           for _ in range(15)])
        statuses = sorted(r.status_code for r in codes)
        assert statuses.count(401) <= svc.services.settings.console_login_max_failures
        assert statuses.count(429) >= 15 - svc.services.settings.console_login_max_failures


async def test_rasa_refuses_untokened_requests_and_the_service_sends_the_token(service_factory, rasa_server):
    async with httpx.AsyncClient(base_url=rasa_server.url) as http:
        assert (await http.get("/conversations/anyone/tracker")).status_code == 401
        assert (await http.get("/status")).status_code == 401
        assert (await http.get("/status", params={"token": "guess"})).status_code == 401
        assert (await http.get("/status", params={"token": RASA_TOKEN})).status_code == 200
    async with service_factory() as svc, httpx.AsyncClient(base_url=svc.url) as http:
        assert (await http.get("/healthz")).json()["rasa"] is True


async def test_security_headers_on_every_page(service_factory, tmp_path):
    async with service_factory(allowed_origins=["https://shop.example"], trusted_proxies=["127.0.0.1"],
                               var_dir=tmp_path / "var") as svc, httpx.AsyncClient(base_url=svc.url) as http:
        console = await http.get("/console/login")
        csp = console.headers["content-security-policy"]
        script_src = re.search(r"script-src ([^;]+)", csp).group(1)
        assert script_src == "'self'" and "frame-ancestors 'none'" in csp
        assert "<script>" not in console.text  # no inline script for the CSP to allow
        assert console.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in console.headers  # plain HTTP
        demo = await http.get("/")
        assert "frame-ancestors 'self' https://shop.example" in demo.headers["content-security-policy"]
        widget = await http.get("/widget.js")
        assert "frame-ancestors 'self' https://shop.example" in widget.headers["content-security-policy"]
        behind_tls = await http.get("/healthz", headers={"X-Forwarded-Proto": "https"})
        assert behind_tls.headers["strict-transport-security"].startswith("max-age=31536000")
    async with service_factory(var_dir=tmp_path / "var2") as svc, httpx.AsyncClient(base_url=svc.url) as http:
        spoofed = await http.get("/healthz", headers={"X-Forwarded-Proto": "https"})  # not from a trusted proxy
        assert "strict-transport-security" not in spoofed.headers
