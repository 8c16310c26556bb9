"""Errors of the finetune area; each message says what to do about it."""

from __future__ import annotations


class FinetuneError(Exception):
    """Base class: anything the finetune area refuses or cannot do."""


class LogSourceError(FinetuneError):
    """A log source cannot be read at all (missing file, unreachable database, no tracker table)."""


class NotEnoughData(FinetuneError):
    """Too few usable (context, reply) pairs to train or evaluate on."""


class ModelNotFound(FinetuneError):
    """No registered model matches the requested kind/version."""


class ModelDirInvalid(FinetuneError):
    """A model directory is missing files or its manifest cannot be read."""
