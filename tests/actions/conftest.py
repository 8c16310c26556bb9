"""Fixtures of the action tests: a real small KB index (built once), warmed-up action services.

The index holds six real articles of data/kb/, built with the real encoder by
`retrieval.ingest.ingest_paths` into a temporary directory (about 10 s on 2 cores).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from core.settings import ROOT, Settings

ARTICLES = [
    "top_up_by_bank_transfer_charge",
    "top_up_by_card_charge",
    "card_arrival",
    "transfer_timing",
    "exchange_rate",
    "reverted_card_payment",
]


def make_settings(var_dir: Path, kb_dir: Path, **overrides) -> Settings:
    return Settings(var_dir=var_dir, kb_dir=kb_dir, database_url=f"sqlite:///{var_dir / 'bank.db'}", **overrides)


@pytest.fixture(scope="session")
def domain() -> dict:
    return yaml.safe_load((ROOT / "domain.yml").read_text())


@pytest.fixture(scope="session")
def kb_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("kb")
    for name in ARTICLES:
        shutil.copy(ROOT / "data" / "kb" / f"{name}.md", folder)
    return folder


@pytest.fixture(scope="session")
def kb_index(tmp_path_factory, kb_dir) -> Path:
    from retrieval.ingest import ingest_paths

    var = tmp_path_factory.mktemp("var")
    index_dir = var / "index" / "kb"
    report = ingest_paths([kb_dir], index_dir, settings=make_settings(var, kb_dir))
    assert report["documents"] == len(ARTICLES) and not report["errors"], report
    return index_dir


@pytest.fixture(scope="session")
def warm_services(tmp_path_factory, kb_dir, kb_index):
    """Action services over the small index, warmed up once for the whole session."""
    from actions.services import ActionServices

    var = tmp_path_factory.mktemp("services")
    services = ActionServices.from_settings(make_settings(var, kb_dir), index_dir=kb_index)
    report = services.warm_up()
    assert report["kb"] == "ready", report
    return services
