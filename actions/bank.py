"""A sample bank backend: its customers with their cards and registered contacts, an outbox of the
texts and e-mails it sends, and the table where blocked cards are recorded.

The demo bank has no real core-banking system, so `action_block_card` writes to these tables in the
platform's database (the `db_url` it is given). They are deliberately separate from the platform's
Alembic-managed store (their own metadata, created on first use): they stand in for an external
system the bot calls, and a real deployment would replace `BankBackend` with a client of its bank.
The tables start with the sample customers of `SAMPLE_CUSTOMERS`; `add_customer` registers others.
The one-time codes that let an anonymous visitor prove who they are live in actions/one_time_codes.py.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import secrets
import threading
from typing import Any

from sqlalchemy import DateTime, Engine, Index, Integer, String, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

log = logging.getLogger(__name__)

LAST4 = re.compile(r"^\d{4}$")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[A-Za-z]{2,24}")
PHONE = re.compile(r"\+?\d{8,15}")


# the demo's customers: (customer id, e-mail, mobile, last four digits of their cards)
SAMPLE_CUSTOMERS = (
    ("hb-100001", "dana.demo@example.com", "+447700900123", ("4821", "7310")),
    ("hb-100002", "sam.sample@example.org", "+15555550142", ("9931",)),
)


class BankUnavailable(RuntimeError):
    """The bank backend (its database) could not be reached or written."""


class _BankBase(DeclarativeBase):
    pass


class CardBlock(_BankBase):
    __tablename__ = "bank_card_blocks"
    __table_args__ = (Index("ix_bank_card_blocks_customer_last4", "customer_id", "card_last4"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    card_last4: Mapped[str] = mapped_column(String(4))
    reason: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="blocked")
    channel: Mapped[str] = mapped_column(String(32), default="chat")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))

    def as_dict(self) -> dict[str, Any]:
        return {
            "reference": self.reference,
            "customer_id": self.customer_id,
            "card_last4": self.card_last4,
            "reason": self.reason,
            "status": self.status,
            "channel": self.channel,
            "created_at": self.created_at.isoformat(),
        }


class Customer(_BankBase):
    __tablename__ = "bank_customers"

    customer_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(255), index=True)  # lower case
    phone: Mapped[str | None] = mapped_column(String(32), index=True)  # "+" and digits


class Card(_BankBase):
    __tablename__ = "bank_cards"
    __table_args__ = (Index("ix_bank_cards_customer_last4", "customer_id", "card_last4", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(128))
    card_last4: Mapped[str] = mapped_column(String(4))


class OutboxMessage(_BankBase):
    """A text or e-mail the bank sent (a real bank hands it to its SMS / e-mail provider)."""

    __tablename__ = "bank_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(String(128), index=True)
    channel: Mapped[str] = mapped_column(String(8))  # sms | email
    address: Mapped[str] = mapped_column(String(255))
    body: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


def normalise_contact(contact: str) -> tuple[str, str] | None:
    """("email", lower-cased address) or ("sms", "+" and digits) for what a customer typed; None if neither."""
    text = (contact or "").strip()
    if EMAIL.fullmatch(text):
        return "email", text.lower()
    digits = re.sub(r"[\s().\-]", "", text)
    if PHONE.fullmatch(digits):
        return "sms", "+" + digits.lstrip("+").removeprefix("00")
    return None


class BankBackend:
    """Records card blocks. Cheap to build; the engine and table are created on first use."""

    def __init__(self, db_url: str):
        self.db_url = db_url
        self._engine: Engine | None = None
        self._lock = threading.Lock()

    def _ensure(self) -> Engine:
        with self._lock:
            if self._engine is None:
                from core.store.db import make_engine

                engine = make_engine(self.db_url)
                _BankBase.metadata.create_all(engine, checkfirst=True)
                with Session(engine) as session, session.begin():
                    if session.scalars(select(Customer).limit(1)).first() is None:
                        for customer_id, email, phone, cards in SAMPLE_CUSTOMERS:
                            self._add(session, customer_id, email, phone, cards)
                self._engine = engine
            return self._engine

    @staticmethod
    def _add(session: Session, customer_id: str, email: str | None, phone: str | None, cards) -> None:
        sms = normalise_contact(phone or "")
        session.add(Customer(customer_id=customer_id, email=email.lower() if email else None,
                             phone=sms[1] if sms and sms[0] == "sms" else None))
        session.add_all(Card(customer_id=customer_id, card_last4=last4) for last4 in cards)

    def add_customer(self, customer_id: str, *, email: str | None = None, phone: str | None = None,
                     cards: tuple[str, ...] | list[str] = ()) -> None:
        """Register a customer with their contact details and the last four digits of their cards."""
        if any(not LAST4.match(c) for c in cards):
            raise ValueError(f"cards must be the last four digits of each card, got {list(cards)!r}")
        if phone and (normalise_contact(phone) or ("",))[0] != "sms":
            raise ValueError(f"phone must be a number of 8 to 15 digits, got {phone!r}")
        with Session(self._ensure()) as session, session.begin():
            self._add(session, customer_id, email, phone, cards)

    def card_holder(self, session: Session, contact: str, card_last4: str) -> tuple[str, str, str] | None:
        """(customer id, channel, registered address) of the customer who registered `contact` and holds
        a card ending in `card_last4`; None when nobody does. Runs in the caller's transaction."""
        found = normalise_contact(contact)
        if found is None:
            return None
        channel, address = found
        column = Customer.email if channel == "email" else Customer.phone
        row = session.execute(select(Customer.customer_id).join(Card, Card.customer_id == Customer.customer_id)
                              .where(column == address, Card.card_last4 == card_last4)).first()
        return (row[0], channel, address) if row else None

    def send(self, session: Session, customer_id: str, channel: str, address: str, body: str) -> None:
        """Hand a text or e-mail to the bank's provider (here: the outbox table), in the caller's transaction."""
        session.add(OutboxMessage(customer_id=customer_id, channel=channel, address=address, body=body,
                                  created_at=dt.datetime.now(dt.UTC)))

    def outbox(self, customer_id: str) -> list[dict[str, Any]]:
        """The texts and e-mails sent to a customer, oldest first."""
        with Session(self._ensure()) as session:
            rows = session.scalars(select(OutboxMessage).where(OutboxMessage.customer_id == customer_id)
                                   .order_by(OutboxMessage.id))
            return [{"channel": r.channel, "address": r.address, "body": r.body,
                     "created_at": r.created_at.isoformat()} for r in rows]

    def session(self) -> Session:
        """A session on the bank's database (tables created on first use)."""
        return Session(self._ensure())

    def block_card(self, customer_id: str, card_last4: str, reason: str = "lost_or_stolen") -> dict[str, Any]:
        """Block the customer's card ending in `card_last4`; idempotent per customer and card.

        Returns the block as plain data, with `already_blocked` True when an earlier request had
        blocked it. Raises ValueError for malformed digits, BankUnavailable when the database fails.
        """
        if not LAST4.match(card_last4 or ""):
            raise ValueError(f"card_last4 must be exactly four digits, got {card_last4!r}")
        try:
            with Session(self._ensure()) as session, session.begin():
                existing = session.scalars(
                    select(CardBlock).where(
                        CardBlock.customer_id == customer_id,
                        CardBlock.card_last4 == card_last4,
                        CardBlock.status == "blocked",
                    )
                ).first()
                if existing is not None:
                    return {**existing.as_dict(), "already_blocked": True}
                block = CardBlock(
                    reference=f"BLK-{secrets.token_hex(4).upper()}",
                    customer_id=customer_id,
                    card_last4=card_last4,
                    reason=reason,
                    status="blocked",
                    channel="chat",
                    created_at=dt.datetime.now(dt.UTC),
                )
                session.add(block)
                session.flush()
                return {**block.as_dict(), "already_blocked": False}
        except SQLAlchemyError as exc:
            log.error("bank backend write failed: %s", exc)
            raise BankUnavailable(
                f"could not record the card block in {self._safe_url()} ({exc.__class__.__name__}); "
                "check that the database is running and SUPPORTBOT_DATABASE_URL points at it"
            ) from exc

    def blocks(self, customer_id: str) -> list[dict[str, Any]]:
        """The customer's card blocks, oldest first."""
        try:
            with Session(self._ensure()) as session:
                rows = session.scalars(
                    select(CardBlock).where(CardBlock.customer_id == customer_id).order_by(CardBlock.id)
                )
                return [row.as_dict() for row in rows]
        except SQLAlchemyError as exc:
            raise BankUnavailable(f"could not read card blocks from {self._safe_url()}: {exc}") from exc

    def _safe_url(self) -> str:
        """The database URL without its password, for messages and logs."""
        from sqlalchemy.engine import make_url

        try:
            return make_url(self.db_url).render_as_string(hide_password=True)
        except Exception:  # noqa: BLE001 - a malformed URL is itself reported by create_engine
            return "the configured database"

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
