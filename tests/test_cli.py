"""Every `supportbot` command is wired, importable without heavy libraries, and explains itself."""

from __future__ import annotations

import subprocess
import sys

from click.testing import CliRunner

from bot.cli import BENCH_COMMANDS, COMMANDS, EVAL_COMMANDS, cli


def _all_paths():
    yield from ([name] for name in COMMANDS)
    yield from (["eval", name] for name in EVAL_COMMANDS)
    yield from (["bench", name] for name in BENCH_COMMANDS)


def test_every_command_has_help():
    runner = CliRunner()
    for path in _all_paths():
        result = runner.invoke(cli, [*path, "--help"])
        assert result.exit_code == 0, f"supportbot {' '.join(path)} --help failed: {result.output}"
        assert "unavailable" not in result.output, f"supportbot {' '.join(path)} is not wired: {result.output}"
        assert "Usage:" in result.output


def test_help_does_not_import_heavy_libraries():
    code = (
        "import sys; from click.testing import CliRunner; from bot.cli import cli;"
        "r = CliRunner().invoke(cli, ['--help']); assert r.exit_code == 0, r.output;"
        "heavy = [m for m in ('torch', 'faiss', 'sentence_transformers', 'transformers') if m in sys.modules];"
        "print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"`supportbot --help` imported {out.stdout.strip()}"


def test_status_reports_down_services_with_exit_code(monkeypatch, tmp_path):
    monkeypatch.setenv("SUPPORTBOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORTBOT_RASA_MODEL_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("SUPPORTBOT_PORT", "1")  # nothing listens there
    monkeypatch.setenv("SUPPORTBOT_RASA_PORT", "2")
    monkeypatch.setenv("SUPPORTBOT_ACTION_PORT", "3")
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["status", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    import json

    info = json.loads(result.output)
    assert {s["healthy"] for s in info["services"].values()} == {False}
    assert info["database"]["reachable"] is True
    assert info["artifacts"]["rasa_model"]["exists"] is False


def test_up_refuses_a_bad_number_of_rasa_workers_before_training(monkeypatch, tmp_path):
    monkeypatch.setenv("SUPPORTBOT_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("SUPPORTBOT_RASA_WORKERS", "0")
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(cli, ["up"])  # training would take minutes: it must not start
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "SUPPORTBOT_RASA_WORKERS=1" in result.output
    assert not (tmp_path / "logs").exists() and not (tmp_path / "run").exists()  # nothing was started
