"""Console accounts: create, change password, disable, and check a login.

Used by both `supportbot users …` and the console's admin page, so the rules (valid roles,
password strength, a disabled account loses its sessions) live in one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from bot.console.passwords import hash_password, hasher, needs_rehash, verify_password
from bot.errors import Unprocessable
from core.store.models import ConsoleSession, User

ROLES = ("agent", "admin")
USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,128}$")


class AccountError(Unprocessable, ValueError):
    """A request about an account that cannot be done; the message says why."""

    code = "account_error"


@dataclass(frozen=True)
class Agent:
    """The logged-in console user, as plain data (what Handoff and the pages need)."""

    id: int
    username: str
    display_name: str
    role: str

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @classmethod
    def of(cls, user: User) -> Agent:
        return cls(user.id, user.username, user.display_name or "", user.role)


class Accounts:
    def __init__(self, db):
        self.db = db

    def add(self, username: str, password: str, role: str = "agent", display_name: str = "") -> Agent:
        if not USERNAME.match(username or ""):
            raise AccountError("Usernames are 2-128 letters, digits or . _ @ - (no spaces).")
        if role not in ROLES:
            raise AccountError(f"Unknown role {role!r}; use one of: {', '.join(ROLES)}.")
        user = User(username=username, password_hash=hash_password(password), role=role,
                    display_name=(display_name or "").strip()[:128])
        try:
            with self.db.session() as s:
                s.add(user)
                s.flush()
                return Agent.of(user)
        except IntegrityError:
            raise AccountError(f"User {username!r} already exists; use `supportbot users passwd` to reset it.") from None

    def set_password(self, username: str, password: str) -> None:
        """New password; every open session of the account is logged out."""
        new_hash = hash_password(password)
        with self.db.session() as s:
            user = self._get(s, username)
            user.password_hash = new_hash
            s.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))

    def set_disabled(self, username: str, disabled: bool = True) -> None:
        with self.db.session() as s:
            user = self._get(s, username)
            user.disabled = disabled
            if disabled:
                s.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user.id))

    def list(self) -> list[dict]:
        with self.db.session() as s:
            users = s.scalars(select(User).order_by(User.username)).all()
            return [{"id": u.id, "username": u.username, "display_name": u.display_name, "role": u.role,
                     "disabled": u.disabled, "last_seen_at": u.last_seen_at} for u in users]

    def authenticate(self, username: str, password: str) -> Agent | None:
        """The account when the password matches and it is enabled; None otherwise (same timing)."""
        with self.db.session() as s:
            user = s.scalars(select(User).where(User.username == username)).first()
            ok = verify_password(user.password_hash if user else None, password)
            if not ok or user is None or user.disabled:
                return None
            if needs_rehash(user.password_hash):
                user.password_hash = hasher().hash(password)
            return Agent.of(user)

    @staticmethod
    def _get(s, username: str) -> User:
        user = s.scalars(select(User).where(User.username == username)).first()
        if user is None:
            raise AccountError(f"No user {username!r}; `supportbot users add {username}` creates it.")
        return user
