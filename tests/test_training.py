"""`supportbot train` retrains Rasa only when its inputs change (fingerprint)."""

from __future__ import annotations

import shutil

from bot import training
from core.settings import Settings


def test_fingerprint_follows_the_rasa_inputs(tmp_path, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    for rel in ("config.yml", "domain.yml", "data/rules.yml", "data/stories.yml"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(training.ROOT / rel, root / rel)
    shutil.copytree(training.ROOT / "data" / "nlu", root / "data" / "nlu")
    monkeypatch.setattr(training, "ROOT", root)
    s = Settings(var_dir=tmp_path / "var")
    first = training.rasa_fingerprint(s)
    assert training.rasa_fingerprint(s) == first  # stable
    (root / "data" / "kb_note.md").write_text("KB articles are not Rasa inputs")
    assert training.rasa_fingerprint(s) == first
    with open(root / "data" / "rules.yml", "a") as fh:
        fh.write("\n# a comment changes the file\n")
    assert training.rasa_fingerprint(s) != first


def test_up_to_date_model_is_not_retrained(tmp_path, monkeypatch):
    s = Settings(var_dir=tmp_path / "var", rasa_model_dir=tmp_path / "models")
    s.rasa_model_dir.mkdir()
    model = s.rasa_model_dir / "supportbot.tar.gz"
    model.write_bytes(b"model")
    (s.rasa_model_dir / "supportbot.fingerprint").write_text(training.rasa_fingerprint(s))
    report = training.train_rasa(s, say=lambda m: None)
    assert report["trained"] is False


def test_missing_rasa_runtime_is_a_clear_error(tmp_path):
    s = Settings(var_dir=tmp_path / "var", rasa_model_dir=tmp_path / "models", rasa_venv=tmp_path / "nowhere")
    try:
        training.train_rasa(s, say=lambda m: None)
    except RuntimeError as exc:
        assert "make setup" in str(exc)
    else:
        raise AssertionError("training without Rasa installed must fail with advice")
