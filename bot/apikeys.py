"""Server-to-server API keys for `POST /api/messages`: issued once, stored only as a SHA-256.

A key looks like `sbk_<prefix>_<secret>`; the prefix is stored in clear so `supportbot apikey list`
can tell keys apart, the whole key only as a hash. Widget session tokens are separate and can
never be used as API keys (different table, different format).
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select

from bot.errors import NotFound, Unauthorized
from core.store.base import utcnow
from core.store.models import ApiKey

PREFIX = "sbk_"


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row(k: ApiKey) -> dict:
    return {"id": k.id, "name": k.name, "prefix": k.prefix, "created_at": k.created_at.isoformat(),
            "revoked_at": k.revoked_at.isoformat() if k.revoked_at else None}


class ApiKeys:
    def __init__(self, db):
        self.db = db

    def create(self, name: str) -> tuple[str, dict]:
        """(key, record): the key is shown to the operator once and never stored."""
        if not name.strip():
            raise ValueError("Give the key a name that says who uses it, e.g. --name crm-integration.")
        prefix = secrets.token_hex(4)
        key = f"{PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
        with self.db.session() as s:
            row = ApiKey(name=name.strip()[:128], prefix=prefix, key_hash=_hash(key))
            s.add(row)
            s.flush()
            return key, _row(row)

    def list(self) -> list[dict]:
        with self.db.session() as s:
            return [_row(k) for k in s.execute(select(ApiKey).order_by(ApiKey.id)).scalars()]

    def revoke(self, id_or_prefix: str) -> dict:
        with self.db.session() as s:
            row = s.execute(select(ApiKey).where(ApiKey.prefix == id_or_prefix)).scalar_one_or_none()
            if row is None and id_or_prefix.isdigit():
                row = s.get(ApiKey, int(id_or_prefix))
            if row is None:
                raise NotFound(f"No API key with id or prefix {id_or_prefix!r}; see `supportbot apikey list`.")
            row.revoked_at = row.revoked_at or utcnow()
            return _row(row)

    def authenticate(self, authorization: str | None) -> dict:
        """The key record for an `Authorization: Bearer sbk_...` header; Unauthorized otherwise."""
        scheme, _, key = (authorization or "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key.startswith(PREFIX):
            raise Unauthorized("Send an API key as `Authorization: Bearer sbk_...`; "
                               "an operator issues one with `supportbot apikey create --name NAME`.")
        with self.db.session() as s:
            row = s.execute(select(ApiKey).where(ApiKey.key_hash == _hash(key))).scalar_one_or_none()
            if row is None or row.revoked_at is not None:
                raise Unauthorized("This API key is unknown or revoked; ask an operator for a new one.")
            return _row(row)
