"""Step-up verification of an anonymous visitor by a one-time code, as the sample bank does it.

An account action (the card block) for a visitor the host site did not vouch for needs proof of who
they are. The visitor types the e-mail address or mobile number registered with the bank; when a
customer registered it AND holds a card ending in the digits given, the bank sends a 6-digit code
there (its outbox, actions/bank.py) and the visitor types it into the chat. Only the bank knows the
code: the challenge row keeps a salted SHA-256 of it, the bot never sees it before the visitor
types it, and the reply never says whether the contact matched (an unknown contact gets a decoy
challenge no code can pass).

Invariants:
- A code expires `stepup_code_ttl_s` after it was sent and verifies at most once; a verification
  is consumed by the one account action it allows (`consume`), for the conversation and card it
  was issued for.
- Every well-formed wrong code counts before it is compared, against the conversation AND against
  the card (customer + last four digits) over `stepup_window_s`: at `stepup_max_attempts` failures
  in the conversation, or `stepup_card_max_failures` for the card across all conversations, the
  step-up is locked (no more checks, no more codes sent) until the window has passed. Codes sent
  per card are capped by the same number, so nobody can flood a customer's phone.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import DateTime, Integer, String, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, Session, mapped_column

from actions.bank import BankBackend, BankUnavailable, _BankBase

log = logging.getLogger(__name__)

MESSAGE = ("Harbor Bank: {code} is your code to confirm it's you in our chat. It expires in {minutes} minutes. "
           "Never share it: we will never ask you for it by phone.")


class Challenge(_BankBase):
    __tablename__ = "bank_otp_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(128), index=True)  # None: nobody matched (decoy)
    card_last4: Mapped[str] = mapped_column(String(4))
    salt: Mapped[str] = mapped_column(String(32))
    code_hash: Mapped[str] = mapped_column(String(64))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|verified|used|failed|expired|replaced
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


@dataclass(frozen=True)
class StepUpLimits:
    """The `stepup_*` settings (docs/settings.md)."""

    code_ttl_s: float = 300.0
    max_attempts: int = 3
    card_max_failures: int = 5
    window_s: float = 3600.0


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes for timezone-aware columns: they were stored as UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class OneTimeCodes:
    def __init__(self, bank: BankBackend, limits: StepUpLimits | None = None):
        self.bank = bank
        self.limits = limits or StepUpLimits()

    def _run(self, work):
        try:
            with self.bank.session() as session, session.begin():
                return work(session)
        except SQLAlchemyError as exc:
            log.error("one-time codes: bank database failed: %s", exc.__class__.__name__)
            raise BankUnavailable(f"the bank's one-time codes could not be read or written ({exc.__class__.__name__}); "
                                  "check that the database is running and SUPPORTBOT_DATABASE_URL points at it") from exc

    # -- counting ---------------------------------------------------------------------------
    def _failures(self, session: Session, since: dt.datetime, **where: Any) -> int:
        query = select(func.coalesce(func.sum(Challenge.failures), 0)).where(Challenge.created_at >= since)
        for column, value in where.items():
            query = query.where(getattr(Challenge, column) == value)
        return int(session.execute(query).scalar_one())

    def _locked(self, session: Session, now: dt.datetime, conversation_id: str, customer_id: str | None,
                card_last4: str) -> str | None:
        """"conversation" / "card" when that budget of wrong codes (or codes sent) is spent, else None."""
        since = now - dt.timedelta(seconds=self.limits.window_s)
        if self._failures(session, since, conversation_id=conversation_id) >= self.limits.max_attempts:
            return "conversation"
        if customer_id is not None:
            card = {"customer_id": customer_id, "card_last4": card_last4}
            sent = session.execute(select(func.count()).select_from(Challenge).where(
                Challenge.created_at >= since, Challenge.customer_id == customer_id,
                Challenge.card_last4 == card_last4)).scalar_one()
            if (self._failures(session, since, **card) >= self.limits.card_max_failures
                    or sent >= self.limits.card_max_failures):
                return "card"
        return None

    # -- the three steps --------------------------------------------------------------------
    def start(self, conversation_id: str, contact: str, card_last4: str) -> dict[str, Any]:
        """Send a code to the registered contact if it belongs to the holder of the card.

        Returns {"status": "sent"} whether or not anybody matched (the visitor must not learn which
        contacts are registered), or {"status": "locked", "scope": "conversation"|"card"}.
        """
        now = dt.datetime.now(dt.UTC)

        def work(session: Session) -> dict[str, Any]:
            holder = self.bank.card_holder(session, contact, card_last4)
            customer_id = holder[0] if holder else None
            scope = self._locked(session, now, conversation_id, customer_id, card_last4)
            if scope is not None:
                return {"status": "locked", "scope": scope}
            for old in session.scalars(select(Challenge).where(Challenge.conversation_id == conversation_id,
                                                               Challenge.status == "open")):
                old.status = "replaced"
            code, salt = f"{secrets.randbelow(10**6):06d}", secrets.token_hex(16)
            session.add(Challenge(conversation_id=conversation_id, customer_id=customer_id, card_last4=card_last4,
                                  salt=salt, code_hash=_hash(salt, code), failures=0, status="open", created_at=now,
                                  expires_at=now + dt.timedelta(seconds=self.limits.code_ttl_s)))
            if holder is not None:
                minutes = max(1, round(self.limits.code_ttl_s / 60))
                self.bank.send(session, customer_id, holder[1], holder[2], MESSAGE.format(code=code, minutes=minutes))
            return {"status": "sent"}

        return self._run(work)

    def verify(self, conversation_id: str, code: str) -> dict[str, Any]:
        """Check a typed code against the conversation's open challenge.

        {"status": "verified"} | {"status": "wrong", "attempts_left": n} | {"status": "locked", "scope": ...}
        | {"status": "expired"} | {"status": "no_challenge"}. The attempt is counted before the comparison.
        """
        now = dt.datetime.now(dt.UTC)

        def work(session: Session) -> dict[str, Any]:
            challenge = session.scalars(select(Challenge).where(Challenge.conversation_id == conversation_id,
                                                                Challenge.status == "open")
                                        .order_by(Challenge.id.desc()).limit(1).with_for_update()).first()
            if challenge is None:
                return {"status": "no_challenge"}
            if _aware(challenge.expires_at) <= now:
                challenge.status = "expired"
                return {"status": "expired"}
            if (locked := self._spent(session, now, challenge)) is not None:
                return locked
            challenge.failures += 1  # counted first: a right code takes it back
            session.flush()
            right = hmac.compare_digest(_hash(challenge.salt, code), challenge.code_hash)
            if right and challenge.customer_id is not None:
                challenge.failures -= 1
                challenge.status = "verified"
                return {"status": "verified"}
            if (locked := self._spent(session, now, challenge)) is not None:
                return locked
            return {"status": "wrong", "attempts_left": self._attempts_left(session, now, challenge)}

        return self._run(work)

    def _spent(self, session: Session, now: dt.datetime, challenge: Challenge) -> dict[str, Any] | None:
        """The challenge failed for good when its conversation's or card's budget is spent."""
        scope = self._locked(session, now, challenge.conversation_id, challenge.customer_id, challenge.card_last4)
        if scope is None:
            return None
        challenge.status = "failed"
        return {"status": "locked", "scope": scope}

    def _attempts_left(self, session: Session, now: dt.datetime, challenge: Challenge) -> int:
        since = now - dt.timedelta(seconds=self.limits.window_s)
        left = self.limits.max_attempts - self._failures(session, since, conversation_id=challenge.conversation_id)
        if challenge.customer_id is not None:
            left = min(left, self.limits.card_max_failures - self._failures(
                session, since, customer_id=challenge.customer_id, card_last4=challenge.card_last4))
        return max(left, 0)

    def consume(self, conversation_id: str, card_last4: str) -> str | None:
        """The customer this conversation verified for the card ending in `card_last4`, once; None if none."""
        now = dt.datetime.now(dt.UTC)

        def work(session: Session) -> str | None:
            challenge = session.scalars(select(Challenge).where(
                Challenge.conversation_id == conversation_id, Challenge.card_last4 == card_last4,
                Challenge.status == "verified", Challenge.customer_id.is_not(None))
                .order_by(Challenge.id.desc()).limit(1).with_for_update()).first()
            if challenge is None:
                return None
            challenge.status = "used"
            # valid for the account action right after the code: at most one code lifetime later
            fresh = _aware(challenge.expires_at) + dt.timedelta(seconds=self.limits.code_ttl_s) > now
            return challenge.customer_id if fresh else None

        return self._run(work)
