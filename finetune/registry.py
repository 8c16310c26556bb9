"""The model registry: every trained model, its metrics and data fingerprint, one serving per kind.

Statuses: `candidate` (trained, not judged or not promoted), `serving` (at most one per kind),
`retired` (served before; rollback can bring it back), `rejected` (the gate refused it, or it was
rolled back — rollback never brings it back, so repeated rollbacks walk back through history).
Promotion and rollback lock the kind's rows, so two concurrent promotions cannot leave two
models serving.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import delete, select

from core.store.base import utcnow
from core.store.db import Database
from core.store.models import ModelTrainingConversation, RegisteredModel
from finetune.errors import ModelNotFound
from finetune.response_model import MANIFEST


def as_dict(m: RegisteredModel) -> dict:
    def iso(d: dt.datetime | None) -> str | None:
        return d.isoformat(timespec="seconds") if d else None

    return {"id": m.id, "kind": m.kind, "version": m.version, "path": m.path, "status": m.status,
            "metrics": m.metrics or {}, "data_fingerprint": m.data_fingerprint, "note": m.note,
            "created_at": iso(m.created_at), "promoted_at": iso(m.promoted_at),
            "needs_retrain": bool(m.needs_retrain), "retrain_reason": m.retrain_reason or ""}


class Registry:
    def __init__(self, db: Database):
        self.db = db

    @classmethod
    def open(cls, url: str, migrate: bool = True) -> Registry:
        db = Database(url)
        if migrate:
            db.migrate()
        return cls(db)

    def close(self) -> None:
        self.db.dispose()

    # -- reading ---------------------------------------------------------------------------------
    def list(self, kind: str | None = None) -> list[dict]:
        with self.db.session() as s:
            q = select(RegisteredModel).order_by(RegisteredModel.created_at, RegisteredModel.id)
            if kind:
                q = q.where(RegisteredModel.kind == kind)
            return [as_dict(m) for m in s.scalars(q)]

    def get(self, kind: str, version: str) -> dict:
        with self.db.session() as s:
            return as_dict(self._row(s, kind, version))

    def serving(self, kind: str) -> dict | None:
        with self.db.session() as s:
            m = s.scalars(select(RegisteredModel).where(RegisteredModel.kind == kind,
                                                        RegisteredModel.status == "serving")).first()
            return as_dict(m) if m else None

    def serving_pointer(self, kind: str) -> tuple[str, str] | None:
        """(version, path) of the serving model: the cheap query hot reload polls."""
        with self.db.session() as s:
            row = s.execute(select(RegisteredModel.version, RegisteredModel.path).where(
                RegisteredModel.kind == kind, RegisteredModel.status == "serving")).first()
            return (row[0], row[1]) if row else None

    # -- writing ---------------------------------------------------------------------------------
    def register(self, kind: str, version: str, path: Path | str, metrics: dict, data_fingerprint: str,
                 note: str = "", conversations: Iterable[str] = ()) -> dict:
        """`conversations`: ids of the conversations the model learnt from (erasure flags the model
        when one of them is erased)."""
        with self.db.session() as s:
            m = RegisteredModel(kind=kind, version=version, path=str(Path(path).resolve()), status="candidate",
                                metrics=metrics, data_fingerprint=data_fingerprint, note=note)
            s.add(m)
            s.flush()
            s.add_all(ModelTrainingConversation(model_id=m.id, conversation_id=str(c)[:128])
                      for c in dict.fromkeys(conversations))
            return as_dict(m)

    def mark_for_retrain(self, conversation_ids: Iterable[str], reason: str) -> list[dict]:
        """Flag every model that learnt from one of these conversations, and forget the link (the
        erased ids are kept nowhere). Returns the flagged models."""
        ids = list(dict.fromkeys(str(c) for c in conversation_ids))
        flagged: dict[int, RegisteredModel] = {}
        with self.db.session() as s:
            for i in range(0, len(ids), 500):
                chunk = ids[i:i + 500]
                model_ids = s.scalars(select(ModelTrainingConversation.model_id).where(
                    ModelTrainingConversation.conversation_id.in_(chunk)).distinct()).all()
                for m in s.scalars(select(RegisteredModel).where(RegisteredModel.id.in_(model_ids))):
                    flagged[m.id] = m
                s.execute(delete(ModelTrainingConversation).where(
                    ModelTrainingConversation.conversation_id.in_(chunk)))
            for m in flagged.values():
                m.needs_retrain = True
                m.retrain_reason = reason
            return [as_dict(m) for m in flagged.values()]

    def set_status(self, kind: str, version: str, status: str, note: str | None = None,
                   metrics: dict | None = None) -> dict:
        with self.db.session() as s:
            m = self._row(s, kind, version)
            m.status = status
            if note is not None:
                m.note = note
            if metrics is not None:
                m.metrics = {**(m.metrics or {}), **metrics}
            return as_dict(m)

    def promote(self, kind: str, version: str, note: str = "") -> dict:
        """Make `version` the serving model of its kind; the previous one becomes `retired`."""
        with self.db.session() as s:
            rows = self._lock_kind(s, kind)
            target = next((m for m in rows if m.version == version), None)
            if target is None:
                raise ModelNotFound(f"no {kind} model {version!r}: see `supportbot models list`")
            if not (Path(target.path) / MANIFEST).is_file():
                raise ModelNotFound(f"model {version} is registered but its directory {target.path} is gone; "
                                    "retrain instead of promoting it")
            for m in rows:
                if m.status == "serving" and m is not target:
                    m.status = "retired"
            target.status, target.promoted_at = "serving", utcnow()
            if note:
                target.note = note
            return as_dict(target)

    def rollback(self, kind: str) -> dict:
        """Retire the serving model as rejected and bring back the one promoted before it."""
        with self.db.session() as s:
            rows = self._lock_kind(s, kind)
            current = next((m for m in rows if m.status == "serving"), None)
            if current is None:
                raise ModelNotFound(f"no {kind} model is serving, so there is nothing to roll back")
            previous = [m for m in rows if m.status == "retired" and m.promoted_at is not None
                        and (Path(m.path) / MANIFEST).is_file()]
            if not previous:
                raise ModelNotFound(f"{current.version} is the only {kind} model ever promoted; "
                                    "promote another one instead (`supportbot models promote VERSION`)")
            back = max(previous, key=lambda m: _aware(m.promoted_at))
            current.status = "rejected"
            current.note = (current.note + " | " if current.note else "") + f"rolled back to {back.version}"
            back.status, back.promoted_at = "serving", utcnow()
            return as_dict(back)

    # -- helpers -----------------------------------------------------------------------------------
    @staticmethod
    def _row(s, kind: str, version: str) -> RegisteredModel:
        m = s.scalars(select(RegisteredModel).where(RegisteredModel.kind == kind,
                                                    RegisteredModel.version == version)).first()
        if m is None:
            raise ModelNotFound(f"no {kind} model {version!r}: see `supportbot models list`")
        return m

    @staticmethod
    def _lock_kind(s, kind: str) -> list[RegisteredModel]:
        return list(s.scalars(select(RegisteredModel).where(RegisteredModel.kind == kind).with_for_update()))


def _aware(d: dt.datetime) -> dt.datetime:
    return d if d.tzinfo else d.replace(tzinfo=dt.UTC)
