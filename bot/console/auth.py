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
from pathlib import Path

from fastapi import Request, Response
from sqlalchemy import delete, func, or_, select
from starlette.concurrency import run_in_threadpool

from bot.console.accounts import Accounts, Agent
from bot.console.errors import CsrfFailed, Forbidden, LoginRequired, TooManyAttempts
from core.store.base import utcnow
from core.store.models import ConsoleSession, LoginAttempt, User

SESSION_COOKIE = "sb_console"
LOGIN_COOKIE = "sb_console_login"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def _sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _aware(ts: dt.datetime) -> dt.datetime:
    """SQLite hands datetimes back naive; everything we store is UTC."""
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.timezone.utc)


def same(a: str, b: str) -> bool:
    """Constant-time comparison that also copes with non-ASCII input (compare_digest on str does not)."""
    return hmac.compare_digest(a.encode("utf-8", "surrogateescape"), b.encode("utf-8", "surrogateescape"))


def client_ip(request: Request) -> str:
    return (request.client.host if request.client else "") or "unknown"


def secret_key(settings) -> bytes:
    """The configured key, else one generated once and kept (mode 0600) under var/."""
    if settings.console_secret_key:
        return settings.console_secret_key.encode()
    path = Path(settings.var_dir) / "console_secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(secrets.token_hex(32))
        tmp.chmod(0o600)
        tmp.replace(path)
    return path.read_text().strip().encode()


class Auth:
    def __init__(self, db, settings):
        self.db = db
        self.settings = settings
        self.accounts = Accounts(db)
        self._key = secret_key(settings)

    # --- cookies ---------------------------------------------------------------------------
    def secure(self, request: Request) -> bool:
        mode = self.settings.console_cookie_secure
        if mode in ("always", "never"):
            return mode == "always"
        return request.url.scheme == "https" or request.headers.get("x-forwarded-proto", "") == "https"

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
        self._check_rate(username, ip)
        agent = self.accounts.authenticate(username, password or "")
        now = utcnow()
        with self.db.session() as s:
            s.add(LoginAttempt(username=username, ip=ip[:64], ok=agent is not None, created_at=now))
            if agent is not None:
                s.execute(delete(ConsoleSession).where(ConsoleSession.expires_at < now))
                token = secrets.token_urlsafe(32)
                hours = self.settings.console_session_hours
                s.add(ConsoleSession(token_hash=_sha(token), user_id=agent.id, csrf_token=secrets.token_urlsafe(32),
                                     created_at=now, expires_at=now + dt.timedelta(hours=hours), ip=ip[:64]))
                s.get(User, agent.id).last_seen_at = now
        if agent is None:
            raise LoginFailed("Wrong username or password (or the account is disabled).")
        self._set_cookie(request, response, SESSION_COOKIE, token, int(hours * 3600))
        response.delete_cookie(LOGIN_COOKIE, path="/")
        return agent

    def logout(self, request: Request, response: Response) -> None:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            with self.db.session() as s:
                s.execute(delete(ConsoleSession).where(ConsoleSession.token_hash == _sha(token)))
        response.delete_cookie(SESSION_COOKIE, path="/")

    def _check_rate(self, username: str, ip: str) -> None:
        since = utcnow() - dt.timedelta(seconds=self.settings.console_login_window_s)
        with self.db.session() as s:
            failures = s.execute(
                select(func.count()).select_from(LoginAttempt).where(
                    LoginAttempt.ok.is_(False), LoginAttempt.created_at >= since,
                    or_(LoginAttempt.username == username, LoginAttempt.ip == ip))
            ).scalar_one()
        if failures >= self.settings.console_login_max_failures:
            minutes = max(1, round(self.settings.console_login_window_s / 60))
            raise TooManyAttempts(f"Too many failed logins; wait up to {minutes} minutes and try again.",
                                  retry_after_s=self.settings.console_login_window_s)

    # --- per-request checks ----------------------------------------------------------------
    def session_of(self, request: Request) -> tuple[Agent, str]:
        """(agent, csrf token) of the request's session; raises LoginRequired otherwise."""
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            raise LoginRequired()
        with self.db.session() as s:
            row = s.execute(select(ConsoleSession, User).join(User, User.id == ConsoleSession.user_id)
                            .where(ConsoleSession.token_hash == _sha(token))).first()
            if row is None or row.User.disabled or _aware(row.ConsoleSession.expires_at) < utcnow():
                raise LoginRequired("Your session ended; log in again.")
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
