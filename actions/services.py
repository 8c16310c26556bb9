"""What the actions need, built once per action server and warmed up once at start.

`ActionServices.from_settings()` is cheap; `warm_up()` loads the KB catalog, the retriever
(query encoder + FAISS index) and the response selector, and embeds the articles' paragraphs once,
so the first customer doesn't wait for them and no request ever loads a model or re-reads an
article. The query encoder is the ONNX export (retrieval/query_encoder.py): the action server
encodes only messages that arrive without Rasa's embedding, and loads no torch for it. A missing index is not fatal: the server starts, answers
"can't search right now", and loads the index as soon as `supportbot train` / `supportbot kb
ingest` has built it (it looks again at most every `RETRY_S` seconds, and only when the index
directory exists).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from actions.bank import BankBackend
from actions.catalog import KbCatalog
from actions.one_time_codes import OneTimeCodes, StepUpLimits
from core.settings import Settings

if TYPE_CHECKING:  # pragma: no cover - both load torch; they are imported in warm_up()
    from finetune.serving import ResponseSelector
    from retrieval.service import Retriever

log = logging.getLogger(__name__)

RETRY_S = 30.0


@dataclass
class ActionServices:
    settings: Settings
    index_dir: Path
    bank: BankBackend
    codes: OneTimeCodes
    catalog: KbCatalog = field(default_factory=KbCatalog)
    retriever: Retriever | None = None
    selector: ResponseSelector | None = None
    kb_error: str | None = "not warmed up yet"
    selector_error: str | None = None
    _last_attempt: float = field(default=float("-inf"), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, index_dir: Path | None = None) -> ActionServices:
        bank = BankBackend(settings.db_url)
        return cls(settings=settings, index_dir=Path(index_dir or settings.index_dir), bank=bank,
                   codes=OneTimeCodes(bank, StepUpLimits(settings.stepup_code_ttl_s, settings.stepup_max_attempts,
                                                         settings.stepup_card_max_failures, settings.stepup_window_s)))

    # -- start-up ------------------------------------------------------------------------------
    def warm_up(self) -> dict[str, Any]:
        """Load everything once; each part that fails is recorded (and logged), never raised."""
        started = time.perf_counter()
        try:  # one query at a time: FAISS's thread team costs more than it saves (retrieval/vector_index.py)
            from retrieval.vector_index import set_search_threads

            set_search_threads(1)
        except ImportError:
            pass
        self.catalog = KbCatalog.load(self.settings.kb_dir)
        self._load_retriever()
        self._load_selector()
        report = {**self.status(), "warm_up_s": round(time.perf_counter() - started, 2)}
        log.info("action server warmed up: %s", report)
        return report

    def _load_retriever(self) -> None:
        with self._lock:
            self._last_attempt = time.monotonic()
            try:
                from retrieval.query_encoder import query_encoder
                from retrieval.service import Retriever

                retriever = Retriever(self.index_dir, settings=self.settings, encoder=query_encoder(self.settings))
                retriever.load()
                retriever.search("warm up", k=1)  # first call allocates; do it before customers arrive
                self.catalog.embed(retriever.encoder)
            except Exception as exc:  # noqa: BLE001 - IndexMissing, EncoderMismatch, a corrupt index...
                self.retriever, self.kb_error = None, f"{exc.__class__.__name__}: {exc}"
                log.warning("knowledge base unavailable: %s", self.kb_error)
                return
            self.retriever, self.kb_error = retriever, None

    def _load_selector(self) -> None:
        from finetune.serving import ResponseSelector

        try:
            selector = ResponseSelector(self.settings)
            selector.load()
        except Exception as exc:  # noqa: BLE001 - the KB still answers without the dialogue model
            self.selector, self.selector_error = None, f"{exc.__class__.__name__}: {exc}"
            log.warning("response selector failed to load: %s", self.selector_error)
            return
        self.selector, self.selector_error = selector, None

    # -- per request -----------------------------------------------------------------------------
    async def get_retriever(self) -> Any | None:
        """The loaded retriever; retries the load when an index has appeared since the last try."""
        if self.retriever is not None:
            return self.retriever
        if time.monotonic() - self._last_attempt >= RETRY_S and self.index_dir.exists():
            await asyncio.to_thread(self._load_retriever)
        return self.retriever

    async def select_response(self, context: list[dict], screened: bool = False) -> dict | None:
        """The response selector's proposal for this context; None when no model serves or it fails.
        `screened`: scored by the serving model's int8 screen when it has one (actions/screen.py)."""
        if self.selector is None or not context:
            return None
        try:
            return await asyncio.to_thread(self.selector.select, context, 5, screened)
        except Exception as exc:  # noqa: BLE001 - the KB answer stands on its own
            log.warning("response selector failed: %s", exc)
            return None

    def model_versions(self) -> dict[str, Any]:
        """Versions of what answered: the KB index version (the response selector adds its own)."""
        try:
            return {"kb_index": self.retriever.manifest["version"]} if self.retriever is not None else {}
        except (AttributeError, KeyError, RuntimeError):
            return {}

    def status(self) -> dict[str, Any]:
        return {
            "kb": "ready" if self.retriever is not None else "unavailable",
            "kb_error": self.kb_error,
            "kb_articles": len(self.catalog),
            "index_dir": str(self.index_dir),
            "response_selector": "loaded" if self.selector is not None else "off",
            "response_selector_error": self.selector_error,
            "response_encoder": self.selector.encoder_runtime if self.selector is not None else None,
            "response_screen": self.selector is not None and self.selector.can_screen(),
        }
