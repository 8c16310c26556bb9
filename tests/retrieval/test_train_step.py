"""`supportbot train`'s KB step builds the index with the settings it was given, not the environment's."""

from __future__ import annotations

import json

from bot import training
from tests.retrieval.conftest import make_settings


def test_build_kb_index_uses_the_given_settings_not_the_environment(tmp_path, tiny_encoder_dir, monkeypatch):
    # The environment names other values; the settings object passed down must win.
    monkeypatch.setenv("SUPPORTBOT_CHUNK_TOKENS", "200")
    monkeypatch.setenv("SUPPORTBOT_ENCODER_MODEL", str(tmp_path / "no-such-encoder"))
    kb = tmp_path / "kb"
    kb.mkdir()
    (kb / "pin.md").write_text("# Changing your PIN\n\nOpen the app, choose Card, then Change PIN.\n")
    settings = make_settings(tmp_path, kb_dir=kb, encoder_model=str(tiny_encoder_dir), chunk_tokens=37,
                             chunk_overlap_tokens=5)
    report = training.build_kb_index(settings)
    assert report["errors"] == [] and report["documents"] == 1
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert manifest["settings"]["chunk_tokens"] == 37
    assert manifest["encoder"]["dim"] == 32  # the tiny encoder, not the environment's (missing) one
