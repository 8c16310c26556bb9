"""A sample bank backend: the table where blocked cards are recorded.

The demo bank has no real core-banking system, so `action_block_card` writes to this table in the
platform's database (`get_settings().db_url`). It is deliberately separate from the platform's
Alembic-managed store (its own metadata, created on first use): it stands in for an external
system the bot calls, and a real deployment would replace `BankBackend` with a client of its bank.
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
                self._engine = engine
            return self._engine

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
