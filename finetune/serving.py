"""The response selector the action server calls: the promoted model, hot-reloaded without a restart.

Hot reload, and why requests are never dropped: every `select()` reads `self._model` once and uses
that object to the end, so a swap in the middle of a request cannot mix two models. At most every
`response_reload_s` seconds a request starts a background check of the registry (one small query);
when another version is serving, the new model is loaded *beside* the old one, in that background
thread, and swapped in with a single attribute assignment. Requests keep being answered by the old
model while the new one loads; a new model that fails to load is logged and the old one keeps
serving.

With `response_screen_margin` above 0 (and float32 precision) every model is loaded with its int8 copy
beside it, and `select(context, screened=True)` scores with that copy against the same bank (the
selection says `"screened": True`); actions/screen.py decides when float32 must encode after all.
"""

from __future__ import annotations

import logging
import threading
import time

from core.settings import Settings
from finetune.learnt_routing import learnt_min_score
from finetune.pairs import format_context
from finetune.response_model import ResponseModel

log = logging.getLogger(__name__)
KIND = "responses"
MAX_TURN_CHARS = 2000


def normalise_context(context: list[dict]) -> list[dict]:
    """`[{"speaker", "text"}]` as the model was trained on: Rasa's `user` is our `customer`."""
    if not isinstance(context, list):
        raise TypeError("context must be a list of {'speaker', 'text'} dicts, oldest turn first")
    turns = []
    for turn in context:
        if not isinstance(turn, dict) or not isinstance(turn.get("text"), str):
            raise TypeError(f"each context turn must be a dict with a 'text' string, got {turn!r:.80}")
        speaker = {"user": "customer"}.get(str(turn.get("speaker", "customer")), str(turn.get("speaker")))
        turns.append({"speaker": speaker, "text": turn["text"][:MAX_TURN_CHARS]})
    return turns


class ResponseSelector:
    """`select(context, k)` → `{"reply", "score", "candidates", "model_version", "learnt_min_score"}`,
    or None when no response model is serving."""

    def __init__(self, settings: Settings, registry=None):
        self.settings = settings
        self._registry = registry
        self._model: ResponseModel | None = None
        self._next_check = 0.0
        self._check_lock = threading.Lock()
        self._checking = False
        self._failed_version: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------------
    @property
    def registry(self):
        if self._registry is None:
            from finetune.registry import Registry

            self._registry = Registry.open(self.settings.db_url, migrate=False)
        return self._registry

    def load(self) -> ResponseSelector:
        """Load the serving model now (blocking); later changes are picked up by `select()`."""
        self.refresh()
        return self

    @property
    def model_version(self) -> str | None:
        model = self._model
        return model.version if model else None

    @property
    def model(self) -> ResponseModel | None:
        """The serving model as loaded now (read it once per use: a reload may swap it)."""
        return self._model

    @property
    def screens(self) -> bool:
        """Whether models are loaded with the int8 screen (`response_screen_margin` > 0, float32 precision)."""
        return self.settings.response_screen_margin > 0 and self.settings.response_encoder_precision == "float32"

    def can_screen(self) -> bool:
        """Whether the serving model has its int8 screen loaded."""
        model = self._model
        return model is not None and model.screen_encoder is not None

    @property
    def encoder_runtime(self) -> str | None:
        """"onnx", "onnx-int8" or "torch": what encodes the serving model's contexts (finetune/response_encoder.py)."""
        model = self._model
        return model.runtime if model else None

    def refresh(self) -> bool:
        """Check the registry once and swap in the serving model if it changed; True when swapped.

        Errors (database down, broken model directory) are logged; the current model keeps serving.
        """
        try:
            pointer = self.registry.serving_pointer(KIND)
        except Exception as exc:  # noqa: BLE001 - a dead database must not take the bot's replies down with it
            log.warning("model registry unreachable (%s); keeping response model %s", exc, self.model_version)
            return False
        if pointer is None:
            if self._model is not None:
                log.warning("no response model is serving any more; the selector stops answering")
            self._model = None
            return False
        version, path = pointer
        if version == self.model_version or version == self._failed_version:
            return False
        try:
            model = ResponseModel(path, device=self.settings.encoder_device,
                                  faiss_device=self.settings.faiss_device,
                                  encoder_precision=self.settings.response_encoder_precision,
                                  screen=self.screens).load()
            model.select([""], k=1)  # warm up before it takes traffic
            if model.screen_encoder is not None:
                model.select([""], k=1, screened=True)
        except Exception as exc:  # noqa: BLE001 - whatever breaks the new model, the old one keeps serving
            self._failed_version = version
            log.error("cannot load response model %s from %s (%s); still serving %s",
                      version, path, exc, self.model_version)
            return False
        self._model = model  # the atomic swap
        self._failed_version = None
        log.info("response model %s now serving (encoder: %s%s)", version, model.runtime,
                 f", {model.runtime_reason}" if model.runtime_reason else "")
        return True

    def _maybe_check(self) -> None:
        now = time.monotonic()
        with self._check_lock:
            if self._checking or now < self._next_check:
                return
            self._checking = True
            self._next_check = now + self.settings.response_reload_s
        threading.Thread(target=self._background_check, name="response-model-reload", daemon=True).start()

    def _background_check(self) -> None:
        try:
            self.refresh()
        finally:
            with self._check_lock:
                self._checking = False

    # -- serving -------------------------------------------------------------------------------------
    def select(self, context: list[dict], k: int = 5, screened: bool = False) -> dict | None:
        """The serving model's proposal; `screened`: scored by its int8 screen when it has one (the
        selection then says `"screened": True`), else by its encoder."""
        self._maybe_check()
        model = self._model  # read once: this request uses this model throughout
        if model is None:
            return None
        return select_with(model, context, k, screened=screened and model.screen_encoder is not None)


def select_with(model: ResponseModel, context: list[dict], k: int = 5, screened: bool = False) -> dict | None:
    """One loaded model's proposal for `context`, in the shape `ResponseSelector.select` returns."""
    text = format_context(normalise_context(context), int(model.manifest.get("context_turns", 3)))
    candidates = model.select([text], max(1, int(k)), screened=screened)[0]
    if not candidates:
        return None
    return {"reply": candidates[0]["text"], "score": candidates[0]["score"], "candidates": candidates,
            "model_version": model.version, "learnt_min_score": learnt_min_score(model.manifest),
            "screened": screened}
