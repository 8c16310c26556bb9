"""Errors of the retrieval engine; each message says what to do about it."""

from __future__ import annotations


class RetrievalError(Exception):
    """Base class: anything the retrieval engine refuses or cannot do."""


class IndexMissing(RetrievalError):
    """No index has been built at the expected directory yet."""


class EncoderMismatch(RetrievalError):
    """The index was built with another encoder than the one configured now."""


class IndexCorrupt(RetrievalError):
    """The index directory exists but cannot be read back."""


class DocumentError(RetrievalError):
    """One input file cannot be read or parsed; ingestion reports it and skips the file."""


class UnsupportedFormat(DocumentError):
    """The file extension is not one of the formats we ingest."""
