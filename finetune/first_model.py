"""The first dialogue model: trained in the background from the shipped demo logs when none is registered.

`supportbot train` (its `dialogue_model` step, so also `make run`) calls `start_background(settings)`.
When the registry holds no response model and first-model logs are configured, it starts
`python -m finetune.first_model` as a child process and returns at once, so the bot starts and the
knowledge base answers while the model trains. The child runs the ordinary retrain pipeline
(import → clean → anonymise → train → evaluate → gate → promote) from the base encoder on the logs,
with a budget that fits a few minutes on 2 cores: the base encoder's first `first_model_layers`
transformer layers (finetune/layers.py), `first_model_max_steps` optimiser steps, no hard-negative
mining, `first_model_max_seq_length` word pieces per context or reply, `EVAL_CASES` held-out cases;
the gate compares it with the whole base encoder. The action server's ResponseSelector picks the promoted model up within
`response_reload_s`, without a restart.

`first_model_logs`: `demo` (the bank-domain STAR conversations, split by data/prepare/star.py
into var/datasets/star-bank/ when not there yet), a JSONL path, or empty (off).

Progress goes to var/run/first_model.json (`{"state", "step", "pid", "started_at", ...}`), which
`supportbot status` shows; a live pid in it keeps a second start from training twice.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from core.settings import ROOT, Settings

EVAL_CASES = 500
GATE_SEED_OFFSET = 1000
DEMO_DIR = ("datasets", "star-bank")


def progress_path(settings: Settings) -> Path:
    return settings.var_dir / "run" / "first_model.json"


def read_progress(settings: Settings) -> dict:
    try:
        return json.loads(progress_path(settings).read_text())
    except (OSError, ValueError):
        return {}


def write_progress(settings: Settings, **fields) -> dict:
    path = progress_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {**read_progress(settings), **fields, "updated_at": dt.datetime.now(dt.UTC).isoformat()}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(state))
    tmp.replace(path)
    return state


def _alive(pid) -> bool:
    try:
        os.kill(int(pid), 0)
        return True
    except (OSError, TypeError, ValueError):
        return False


def logs_file(settings: Settings) -> Path | None:
    """The training logs, preparing the demo ones on first use; None when switched off."""
    choice = settings.first_model_logs.strip()
    if not choice:
        return None
    if choice != "demo":
        return Path(choice)
    folder = settings.var_dir.joinpath(*DEMO_DIR)
    if not (folder / "train.jsonl").exists():
        subprocess.run([sys.executable, str(ROOT / "data" / "prepare" / "star.py"), "--domain", "bank",
                        "--out", str(folder)], check=True, capture_output=True, text=True)
    return folder / "train.jsonl"


def has_response_model(settings: Settings) -> bool:
    from finetune.registry import Registry

    registry = Registry.open(settings.db_url)  # `supportbot train` has migrated it; a bare start migrates here
    try:
        return bool(registry.list("responses"))
    finally:
        registry.close()


def start_background(settings: Settings, wait: bool = False) -> dict:
    """Start the first training unless a model is registered, one is training, or it is switched off."""
    if not settings.first_model_logs.strip():
        return {"started": False, "reason": "SUPPORTBOT_FIRST_MODEL_LOGS is empty"}
    if has_response_model(settings):
        return {"started": False, "reason": "a response model is registered"}
    progress = read_progress(settings)
    if progress.get("state") == "training" and _alive(progress.get("pid")):
        return {"started": False, "reason": f"already training (pid {progress['pid']})", "step": progress.get("step")}
    log_dir = settings.var_dir / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           "SUPPORTBOT_VAR_DIR": str(settings.var_dir), "SUPPORTBOT_DATABASE_URL": settings.db_url,
           "SUPPORTBOT_FIRST_MODEL_LOGS": settings.first_model_logs,
           "SUPPORTBOT_FIRST_MODEL_MAX_STEPS": str(settings.first_model_max_steps),
           "SUPPORTBOT_FIRST_MODEL_MAX_SEQ_LENGTH": str(settings.first_model_max_seq_length),
           "SUPPORTBOT_FIRST_MODEL_LAYERS": str(settings.first_model_layers)}
    with (log_dir / "first_model.log").open("ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "finetune.first_model"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    write_progress(settings, state="training", step="starting", pid=proc.pid,
                   started_at=dt.datetime.now(dt.UTC).isoformat(), version=None, error=None)
    if wait:
        proc.wait()
    return {"started": True, "pid": proc.pid, "log": str(log_dir / "first_model.log")}


def train_first_model(settings: Settings, progress: bool = False) -> dict:
    """The bounded retrain from the base encoder on the first-model logs (what the child process runs)."""
    from finetune.layers import shallow_encoder
    from finetune.pipeline import retrain, say
    from finetune.registry import Registry

    logs = logs_file(settings)
    if logs is None:
        raise ValueError("no first-model logs configured (SUPPORTBOT_FIRST_MODEL_LOGS)")
    # The demo logs were split with the pipeline's own seed and fraction (data/prepare/star.py), so
    # the gate's held-out part is drawn with another seed from what is left for training: the
    # published held-out file stays unseen, for `supportbot eval assist`.
    # 32 word pieces (the customer's last message and a little before it) instead of the retrain's
    # `finetune_max_seq_length`: as good on the held-out logs and a cheaper serving encode of a long context
    # (docs/benchmarks.md "The first model's context window")
    bounded = settings.model_copy(update={"finetune_eval_cases": EVAL_CASES,
                                          "finetune_seed": settings.finetune_seed + GATE_SEED_OFFSET,
                                          "finetune_max_seq_length": settings.first_model_max_seq_length})
    # a shallower copy of the base encoder: the selector's encode costs per layer, and the steps it saves buy
    # twice the training in the same time (docs/benchmarks.md "The first model's depth")
    start = shallow_encoder(settings.encoder, settings.first_model_layers, settings.finetune_models_dir)
    registry = Registry.open(settings.db_url)
    try:
        return retrain(bounded, registry, files=[logs], use_store=False, from_base=True, progress=progress,
                       log=lambda step: (say(step), write_progress(settings, step=step)),
                       start_encoder=start, max_steps=settings.first_model_max_steps, hard_negatives=0)
    finally:
        registry.close()


def status(settings: Settings) -> dict:
    """What `supportbot status` shows: the serving version, or the first training's progress."""
    from finetune.registry import Registry

    out: dict = {"serving": None}
    try:
        registry = Registry.open(settings.db_url, migrate=False)
        try:
            serving = registry.serving("responses")
        finally:
            registry.close()
        out["serving"] = serving["version"] if serving else None
    except Exception as exc:  # noqa: BLE001 - an unmigrated store: nothing serves yet
        out["error"] = str(exc).splitlines()[0][:200]
    progress = read_progress(settings)
    if progress:
        state = progress.get("state")
        if state == "training" and not _alive(progress.get("pid")):
            state = "interrupted"
        out["first_model"] = {"state": state, "step": progress.get("step"), "version": progress.get("version"),
                              "error": progress.get("error"), "started_at": progress.get("started_at")}
    return out


def main() -> None:
    from core.settings import get_settings

    settings = get_settings()
    write_progress(settings, state="training", pid=os.getpid())
    try:
        report = train_first_model(settings)
    except Exception as exc:  # noqa: BLE001 - recorded for `supportbot status`, then re-raised for the log
        write_progress(settings, state="failed", error=f"{exc.__class__.__name__}: {exc}")
        raise
    write_progress(settings, state="serving" if report["promoted"] else "rejected", version=report["version"],
                   step=report["reason"], train_seconds=report["train_seconds"])
    print(json.dumps(report, default=str), flush=True)


if __name__ == "__main__":
    main()
