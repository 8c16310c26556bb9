"""Console login throttling per (username, client address), with exponential back-off.

Every attempt is recorded as a failure BEFORE the password is checked, in the same transaction
that counts the pair's earlier failures (PostgreSQL: under an advisory lock for the pair; SQLite:
the insert takes the database's write lock), so parallel guesses are counted one by one and no more
than `console_login_max_failures` of them ever reach the password check. A success flips its own
row to ok and starts the count afresh.

After `max_failures` failures (within `window_s`, since the pair's last success) the pair is locked
for `backoff_s`, doubling with each further failure up to `backoff_max_s`. While locked, attempts
are refused without looking at the password and count as failures themselves, so guessing never
unlocks it. Only the pair is locked: the same user from another address, and other users from this
address, are not affected (a per-address or per-account lock lets anyone lock every agent out).
"""

from __future__ import annotations

import datetime as dt
import hashlib

from sqlalchemy import func, select, text, update

from core.store.base import utcnow
from core.store.models import LoginAttempt


class Locked(Exception):
    """The pair is locked; `retry_after_s` says for how long."""

    def __init__(self, retry_after_s: float):
        super().__init__(f"locked for {retry_after_s:.0f} s")
        self.retry_after_s = retry_after_s


def _aware(ts: dt.datetime) -> dt.datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=dt.UTC)


class LoginBackoff:
    def __init__(self, db, max_failures: int, window_s: float, backoff_s: float, backoff_max_s: float):
        self.db = db
        self.max_failures = max(1, max_failures)
        self.window_s = window_s
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s

    def lock_s(self, failures: int) -> float:
        """How long the pair is locked after `failures` failures (0 below the threshold)."""
        if failures < self.max_failures:
            return 0.0
        return min(self.backoff_s * 2 ** (failures - self.max_failures), self.backoff_max_s)

    def begin(self, username: str, ip: str) -> int:
        """Record the attempt (as a failure) and return its id; raises Locked when the pair is locked."""
        now = utcnow()
        with self.db.session() as s:
            if s.get_bind().dialect.name == "postgresql":
                key = int.from_bytes(hashlib.sha256(f"{username}\0{ip}".encode()).digest()[:8], "big", signed=True)
                s.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
            attempt = LoginAttempt(username=username, ip=ip, ok=False, created_at=now)
            s.add(attempt)
            s.flush()
            pair = (LoginAttempt.username == username, LoginAttempt.ip == ip)
            last_ok = s.execute(select(func.max(LoginAttempt.created_at)).where(*pair, LoginAttempt.ok.is_(True))
                                ).scalar_one()
            since = now - dt.timedelta(seconds=self.window_s)
            if last_ok is not None and _aware(last_ok) > since:
                since = _aware(last_ok)
            failures, last_failure = s.execute(
                select(func.count(), func.max(LoginAttempt.created_at)).where(
                    *pair, LoginAttempt.ok.is_(False), LoginAttempt.created_at > since,
                    LoginAttempt.id != attempt.id)).one()
            attempt_id = attempt.id
            wait = self.lock_s(failures)
            if wait and last_failure is not None and _aware(last_failure) + dt.timedelta(seconds=wait) > now:
                remaining = (_aware(last_failure) + dt.timedelta(seconds=wait) - now).total_seconds()
                s.commit()  # the refused attempt counts too
                raise Locked(max(remaining, 1.0))
        return attempt_id

    def succeeded(self, s, attempt_id: int) -> None:
        """Mark the attempt ok, in the caller's transaction (the one that opens the session)."""
        s.execute(update(LoginAttempt).where(LoginAttempt.id == attempt_id).values(ok=True))
