"""Console logins: server-side sessions, CSRF tokens, the login rate limit, and the route guards.

The session cookie holds 256 random bits; the store keeps only their SHA-256, so a leaked
database cannot be replayed as a login, and logout, a password change or disabling the account
end the session at once. Each session has its own CSRF token, required on every state-changing
request (form field `csrf_token` or header `X-CSRF-Token`); the login form, which has no session
yet, uses a signed double-submit token. Only this cookie opens the console: customers' widget
tokens and API keys are never looked at here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

from fastapi import Request, Response
from sqlalchemy import delete, select
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Accounts, Agent
from bot.console.errors import CsrfFailed, Forbidden, LoginRequired, TooManyAttempts
from bot.login_backoff import Locked, LoginBackoff
from core.secrets import stored_secret
from core.store.base import utcnow
from core.store.models import ConsoleSession, User

SESSION_COOKIE = "sb_console"
SECURE_SESSION_COOKIE = "__Host-sb_console"  # over TLS: Secure, Path=/, no Domain, so no subdomain can set it
LOGIN_COOKIE = "sb_console_login"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _aware(ts: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive; everything we store is UTC."""
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


def same(a: str, b: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input (compare_digest on str does not)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))


def client_ip(request: Request) -> str:
    """The client's address: the peer, or what a trusted proxy says (bot/web/proxies.py)."""
    peer = request.client.host if request.client else None
    resolve = getattr(request.app.state, "client_address", None)
    return (resolve(peer, request.headers) if resolve is not None else peer) or "unknown"


def secret_key(settings) -> bytes:
    """The configured key, else one generated once and kept (mode 0600) under var/."""
    return stored_secret(settings.var_dir, "console_secret", settings.console_secret_key).encode()


class Auth:
    def __init__(self, db, settings):
        self.db = db
        self.settings = settings
        self.accounts = Accounts(db)
        self._key = secret_key(settings)
        self.backoff = LoginBackoff(db, settings.console_login_max_failures, settings.console_login_window_s,
                                    settings.console_login_backoff_s, settings.console_login_backoff_max_s)

    # --- cookies ---------------------------------------------------------------------------
    def secure(self, request: Request) -> bool:
        mode = self.settings.console_cookie_secure
        if mode in ("always", "never"):
            return mode == "always"
        if request.url.scheme == "https":
            return True
        trusted = getattr(request.app.state, "client_address", None)  # X-Forwarded-Proto from a trusted proxy only
        return (trusted is not None and trusted.is_trusted(request.client.host if request.client else None)
                and request.headers.get("x-forwarded-proto", "") == "https")

    def session_cookie(self, request: Request) -> str:
        return SECURE_SESSION_COOKIE if self.secure(request) else SESSION_COOKIE

    def session_token(self, request: Request) -> str | None:
        return request.cookies.get(self.session_cookie(request))

    def _set_cookie(self, request: Request, response: Response, name: str, value: str, max_age: int) -> None:
        response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, samesite="lax",
                            secure=self.secure(request))

    # --- login form CSRF (no session yet) --------------------------------------------------
    def login_form_token(self, request: Request) -> tuple[str, str]:
        """(nonce for the cookie, token for the form): a signed double-submit pair."""
        nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        return nonce, hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()

    def set_login_cookie(self, request: Request, response: Response, nonce: str) -> None:
        self._set_cookie(request, response, LOGIN_COOKIE, nonce, 3600)

    def check_login_token(self, request: Request, token: str) -> None:
        nonce = request.cookies.get(LOGIN_COOKIE, "")
        want = hmac.new(self._key, nonce.encode(), hashlib.sha256).hexdigest()
        if not nonce or not same(want, token or ""):
            raise CsrfFailed()

    # --- login / logout --------------------------------------------------------------------
    def login(self, request: Request, response: Response, username: str, password: str) -> Agent:
        ip = client_ip(request)
        username = (username or "").strip()[:128]
        try:
            attempt = self.backoff.begin(username, ip[:64])  # counted before the password is looked at
        except Locked as exc:
            minutes = max(1, round(exc.retry_after_s / 60))
            raise TooManyAttempts(f"Too many failed logins for this account from your address; wait about "
                                  f"{minutes} minute{'s' if minutes > 1 else ''} and try again.",
                                  retry_after_s=exc.retry_after_s) from None
        agent = self.accounts.authenticate(username, password or "")
        now = utcnow()
        with self.db.session() as s:
            if agent is not None:
                self.backoff.succeeded(s, attempt)
                s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
                token = secrets.token_urlsafe(32)
                hours = self.settings.console_session_hours
                s.add(ConsoleSession(token_hash=_sha(token), user_id=agent.id, csrf_token=secrets.token_urlsafe(32),
                                     created_at=now, expires_at=now + dt.timedelta(hours=hours), ip=ip[:64]))
                s.get(User, agent.id).last_seen_at = now
        if agent is None:
            raise LoginFailed("Wrong username or password (or the account is disabled).")
        self._set_cookie(request, response, self.session_cookie(request), token, int(hours * 3600))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return agent

    def logout(self, request: Request, response: Response) -> None:
        token = self.session_token(request)
        if token:
            with self.db.session() as s:
                s.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _sha(token)))
        response.delete_cookie(self.session_cookie(request), path="/", secure=self.secure(request))

    # --- per-request checks ----------------------------------------------------------------
    def session_of(self, request: Request) -> tuple[Agent, str]:
        """(agent, csrf token) of the request's session; raises LoginRequired otherwise."""
        token = self.session_token(request)
        if not token:
            raise LoginRequired()
        with self.db.session() as s:
            row = s.execute(select(ConsoleSession, User).join(User, User.id == ConsoleSession.user_id)
                            .where(ConsoleSession.token_hash == _sha(token))).first()
            now = utcnow()
            if row is None or row.User.disabled or _aware(row.ConsoleSession.expires_at) < now:
                raise LoginRequired("Your session ended; log in again.")
            idle_s = self.settings.console_idle_minutes * 60
            if idle_s > 0:  # the idle timeout: expires_at slides with use, never past the absolute limit
                if _aware(row.ConsoleSession.last_used_at or row.ConsoleSession.created_at) + dt.timedelta(
                        seconds=idle_s) < now:
                    s.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _sha(token)))
                    s.commit()
                    raise LoginRequired("Your session ended after a while without use; log in again.")
                last = row.ConsoleSession.last_used_at
                if last is None or (now - _aware(last)).total_seconds() > 30:  # one write per 30 s at most
                    row.ConsoleSession.last_used_at = now
            return Agent.of(row.User), row.ConsoleSession.csrf_token

    def check_csrf(self, request: Request, csrf: str, submitted: str | None) -> None:
        """Every unsafe request needs the session's token and, when the browser says, our own origin."""
        origin = request.headers.get("origin")
        if origin and origin != "null" and origin.rstrip("/") != self._own_origin(request):
            raise CsrfFailed("Cross-site requests are refused; use the console itself.")
        if not isinstance(submitted, str) or not same(csrf, submitted):
            raise CsrfFailed()

    @staticmethod
    def _own_origin(request: Request) -> str:
        scheme = request.headers.get("x-forwarded-proto") or request.url.scheme
        host = request.headers.get("x-forwarded-host") or request.headers.get("host", "")
        return f"{scheme}://{host}"


class LoginFailed(LoginRequired):
    """Wrong username or password: shown on the login page, not redirected to it."""

    code = "login_failed"


async def require(request: Request, admin: bool = False) -> Agent:
    """The guard every console route runs: logged in, CSRF on unsafe methods, admin when asked."""
    auth: Auth = request.app.state.console.auth
    agent, csrf = await run_in_threadpool(auth.session_of, request)
    request.state.agent = agent
    request.state.csrf = csrf
    if request.method not in SAFE_METHODS:
        submitted = request.headers.get("x-csrf-token")
        if submitted is None and "form" in request.headers.get("content-type", ""):
            submitted = (await request.form()).get("csrf_token")
        auth.check_csrf(request, csrf, submitted)
    if admin and not agent.is_admin:
        raise Forbidden()
    return agent


async def agent_required(request: Request) -> Agent:
    return await require(request)


async def admin_required(request: Request) -> Agent:
    return await require(request, admin=True)
