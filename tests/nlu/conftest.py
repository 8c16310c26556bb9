"""Fixtures for the NLU tests: the Rasa runtime's interpreter (the ONNX export, `onnx_dir`, is tests/conftest.py's)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from core.paths import datasets_dir
from tests.support import ROOT

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
DATASETS = datasets_dir()


@pytest.fixture(scope="session")
def rasa_env(onnx_dir) -> dict[str, str]:
    """Environment for processes of the Rasa runtime: our exported encoder, no model hub, no Rasa cache."""
    return {**os.environ, "SUPPORTBOT_NLU_ONNX_DIR": str(onnx_dir), "HF_HUB_OFFLINE": "1",
            "RASA_MAX_CACHE_SIZE": "0", "TF_CPP_MIN_LOG_LEVEL": "2", "RASA_TELEMETRY_ENABLED": "false"}


def run_rasa_python(code: str, env: dict[str, str], cwd: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs `code` with the Rasa runtime's interpreter; fails the test with its output on error."""
    proc = subprocess.run([str(RASA_PYTHON), "-c", code], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, f"exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-5000:]}"
    return proc
