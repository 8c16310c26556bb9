"""The audit trail of personal-data handling: erasures, access exports, console reveals, policy jobs.

One row per act (`core.store.models.AuditEvent`): who (`actor`), when, what (`action`, `target`,
`detail`). A target never repeats the personal data it names: an e-mail address or a session
token is recorded as a short SHA-256 (`fingerprint`), so the trail itself holds nothing to erase.
"""

from __future__ import annotations

import getpass
import hashlib
import os
from typing import Any

from sqlalchemy import select

from core.store.models import AuditEvent

ACTIONS = ("erase", "export", "reveal", "redact", "retention")


def fingerprint(value: str) -> str:
    """A stable, non-reversible name for a personal value in the audit trail."""
    return "sha256:" + hashlib.sha256(value.strip().lower().encode("utf-8")).hexdigest()[:16]


def default_actor() -> str:
    """`$USER` (or the login name) of whoever runs a command."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except Exception:  # noqa: BLE001 - no passwd entry in some containers
        return "unknown"


def record(db, actor: str, action: str, target: str = "", detail: dict[str, Any] | None = None) -> dict:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; one of {ACTIONS}")
    with db.session() as s:
        row = AuditEvent(actor=actor or "unknown", action=action, target=target[:255], detail=detail or {})
        s.add(row)
        s.flush()
        return as_dict(row)


def recent(db, action: str | None = None, limit: int = 100) -> list[dict]:
    with db.session() as s:
        q = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
        if action:
            q = q.where(AuditEvent.action == action)
        return [as_dict(r) for r in s.scalars(q)]


def as_dict(row: AuditEvent) -> dict:
    return {"id": row.id, "at": row.created_at.isoformat(timespec="seconds") if row.created_at else None,
            "actor": row.actor, "action": row.action, "target": row.target, "detail": row.detail or {}}
