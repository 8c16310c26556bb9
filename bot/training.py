"""`supportbot train`: bring every artifact the running bot needs up to date, doing only what changed.

Steps, each idempotent: migrate the store; export the ONNX sentence encoder for Rasa; build or
update the knowledge-base index; train the Rasa model when its inputs' fingerprint changed; start
training the first dialogue model in the background while none is registered (finetune.first_model).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from bot.processes import rasa_model_path
from core.settings import ROOT, Settings

# Everything `rasa train` reads, plus our Rasa components' code: a change to any retrains.
RASA_INPUTS = ["config.yml", "domain.yml", "data/nlu", "data/rules.yml", "data/stories.yml", "rasa_plugins"]


def rasa_fingerprint(settings: Settings) -> str:
    h = hashlib.sha256()
    files: list[Path] = []
    for rel in RASA_INPUTS:
        p = ROOT / rel
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.is_file() and f.suffix in {".yml", ".yaml", ".py", ".json"})
        elif p.exists():
            files.append(p)
    for f in files:
        h.update(str(f.relative_to(ROOT)).encode())
        h.update(f.read_bytes())
    onnx_manifest = settings.var_dir / "models" / "encoder-onnx" / "manifest.json"
    if onnx_manifest.exists():
        h.update(onnx_manifest.read_bytes())
    return h.hexdigest()[:16]


def migrate_store(settings: Settings) -> dict:
    from core.store.db import Database

    db = Database(settings.db_url)
    try:
        db.migrate()
    finally:
        db.dispose()
    return {"database": settings.db_url.split("@")[-1]}


def export_encoder(settings: Settings) -> dict:
    from nlu.export import export_onnx

    return export_onnx(settings.encoder, settings.nlu_onnx_path)


def build_kb_index(settings: Settings) -> dict:
    from retrieval.ingest import ingest_paths

    return ingest_paths([settings.kb_dir], settings.index_dir, settings=settings)


def train_rasa(settings: Settings, force: bool = False, say: Callable[[str], None] = print) -> dict:
    model = rasa_model_path(settings)
    stamp = model.with_suffix("").with_suffix(".fingerprint")
    fp = rasa_fingerprint(settings)
    if not force and model.exists() and stamp.exists() and stamp.read_text().strip() == fp:
        return {"rasa_model": str(model), "trained": False, "fingerprint": fp}
    rasa = settings.rasa_venv / "bin" / "rasa"
    if not rasa.exists():
        raise RuntimeError(f"Rasa is not installed at {rasa}: run `make setup` first.")
    settings.rasa_model_dir.mkdir(parents=True, exist_ok=True)
    say(f"  training the Rasa model (inputs changed, fingerprint {fp}); this takes a few minutes")
    t0 = time.monotonic()
    cmd = [str(rasa), "train", "--fixed-model-name", "supportbot", "--out", str(settings.rasa_model_dir),
           "--config", "config.yml", "--domain", "domain.yml", "--data", "data/nlu", "data/rules.yml",
           "data/stories.yml", "--force"]
    env_extra = {"SUPPORTBOT_VAR_DIR": str(settings.var_dir)}
    import os

    result = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env_extra}, capture_output=True, text=True)
    if result.returncode != 0 or not model.exists():
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-40:])
        raise RuntimeError(f"`rasa train` failed (exit {result.returncode}):\n{tail}")
    stamp.write_text(fp)
    return {"rasa_model": str(model), "trained": True, "fingerprint": fp,
            "train_seconds": round(time.monotonic() - t0, 1)}


def start_first_model(settings: Settings) -> dict:
    """The first dialogue model trains in the background (finetune.first_model); this returns at once."""
    from finetune.first_model import start_background

    return start_background(settings)


def train_all(settings: Settings, force: bool = False, say: Callable[[str], None] = print) -> dict:
    report: dict = {}
    steps: list[tuple[str, Callable[[], dict]]] = [
        ("store", lambda: migrate_store(settings)),
        ("encoder", lambda: export_encoder(settings)),
        ("kb_index", lambda: build_kb_index(settings)),
        ("rasa", lambda: train_rasa(settings, force=force, say=say)),
        ("dialogue_model", lambda: start_first_model(settings)),
    ]
    for name, step in steps:
        t0 = time.monotonic()
        say(f"- {name} …")
        report[name] = step()
        report[name]["seconds"] = round(time.monotonic() - t0, 1)
    return report


def report_json(report: dict) -> str:
    return json.dumps(report, indent=2, default=str)
