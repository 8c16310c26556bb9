"""The first dialogue model: `supportbot train`'s background step trains it from logs (a tiny real log
set, two real training steps in a real child process), the gate promotes it, the response selector
serves it without a restart, `supportbot status` shows progress then the serving version, and a
second start does nothing."""

from __future__ import annotations

import json
import os

import pytest

from bot.runner import describe_dialogue_model
from core.settings import Settings
from finetune.first_model import read_progress, start_background, status, write_progress
from finetune.layers import kept_layers
from finetune.response_model import read_manifest
from finetune.serving import ResponseSelector
from tests.finetune.star_logs import write_bank_logs


@pytest.fixture
def tiny_logs(tmp_path):
    return write_bank_logs(tmp_path / "bank.jsonl")


@pytest.mark.slow
def test_background_first_model_is_promoted_and_served(tmp_path, tiny_logs, monkeypatch):
    # the child process reads these from its environment, like the rest of its settings
    monkeypatch.setenv("SUPPORTBOT_PROMOTION_MARGIN", "-1")  # two steps need not beat the base encoder
    monkeypatch.setenv("SUPPORTBOT_FINETUNE_BATCH_SIZE", "8")
    monkeypatch.setenv("SUPPORTBOT_FINETUNE_DEVICE", "cpu")
    monkeypatch.setenv("SUPPORTBOT_FINETUNE_HOLDOUT_FRACTION", "0.35")
    settings = Settings(var_dir=tmp_path / "var", first_model_logs=str(tiny_logs), first_model_max_steps=2,
                        first_model_max_seq_length=24, first_model_layers=0, response_reload_s=0.0, faiss_device="cpu")
    assert describe_dialogue_model(status(settings)).startswith("none")

    started = start_background(settings, wait=True)
    assert started["started"] is True
    progress = read_progress(settings)
    log = (settings.var_dir / "logs" / "first_model.log").read_text()
    assert progress["state"] == "serving", log[-3000:]
    info = status(settings)
    assert info["serving"] == progress["version"]
    assert describe_dialogue_model(info) == f"serving   {progress['version']}"

    selector = ResponseSelector(settings).load()
    out = selector.select([{"speaker": "customer", "text": "I think someone used my card, I want to report fraud"}])
    assert out["model_version"] == progress["version"] and out["reply"]
    manifest = read_manifest(settings.finetune_models_dir / "responses" / progress["version"])
    routing = manifest["routing"]  # calibrated on KB questions after training
    assert out["learnt_min_score"] == routing["learnt_min_score"] and routing["kb_questions"] == 400
    # built with its encoder in ONNX, and served with it (no torch in the action server)
    assert manifest["encoder_onnx"]["dir"] == "encoder-onnx" and manifest["encoder_onnx"]["min_cosine"] >= 0.999
    assert manifest["encoder_onnx"]["max_seq_length"] == 24  # the first model's window, passed to the child
    assert kept_layers(manifest["base_model"]) is None and _depth(settings, progress["version"]) == 6  # layers=0: all
    assert selector.encoder_runtime == "onnx"

    again = start_background(settings)
    assert again == {"started": False, "reason": "a response model is registered"}


@pytest.mark.slow
def test_a_shallower_first_model_is_judged_against_the_whole_base_encoder(tmp_path, tiny_logs, monkeypatch):
    # one layer and two steps: the child gets the depth, trains from that copy, and the gate compares it with
    # the whole un-tuned encoder, which it does not beat; nothing is served, and status says why
    monkeypatch.setenv("SUPPORTBOT_FINETUNE_BATCH_SIZE", "8")
    monkeypatch.setenv("SUPPORTBOT_FINETUNE_DEVICE", "cpu")
    monkeypatch.setenv("SUPPORTBOT_FINETUNE_HOLDOUT_FRACTION", "0.35")
    settings = Settings(var_dir=tmp_path / "var", first_model_logs=str(tiny_logs), first_model_max_steps=2,
                        first_model_max_seq_length=24, first_model_layers=1, faiss_device="cpu")
    assert start_background(settings, wait=True)["started"] is True
    progress = read_progress(settings)
    log = (settings.var_dir / "logs" / "first_model.log").read_text()
    assert progress["state"] == "rejected", log[-3000:]
    assert "training from the base encoder's first 1 layer on" in log and "keeping the base encoder" in progress["step"]
    manifest = read_manifest(settings.finetune_models_dir / "responses" / progress["version"])
    assert kept_layers(manifest["base_model"]) == 1 and _depth(settings, progress["version"]) == 1
    assert manifest["base_model"].startswith(str(settings.finetune_models_dir / "base-encoder-L1-"))
    assert status(settings)["serving"] is None


def _depth(settings, version) -> int:
    encoder = settings.finetune_models_dir / "responses" / version / "encoder"
    return json.loads((encoder / "config.json").read_text())["num_hidden_layers"]


def test_progress_while_training_and_switched_off(tmp_path):
    settings = Settings(var_dir=tmp_path / "var", first_model_logs="")
    assert start_background(settings)["started"] is False
    write_progress(settings, state="training", step="3/5 training from the base encoder on 900 pairs", pid=os.getpid())
    assert describe_dialogue_model(status(settings)) == "training  3/5 training from the base encoder on 900 pairs"
    write_progress(settings, pid=2**22 + 12345)  # a pid that is not running: the training was interrupted
    assert describe_dialogue_model(status(settings)).startswith("interrupted")
