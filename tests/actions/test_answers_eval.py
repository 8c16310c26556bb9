"""`supportbot eval answers` (bench/answers.py) on the real small KB and the real encoder: what it counts."""

from __future__ import annotations

import json

import click
import pytest

from bench.answers import evaluate
from core.settings import ROOT
from tests.actions.conftest import ARTICLES


@pytest.fixture(scope="module")
def labels() -> list[dict]:
    """The training-split labels whose article is in the small KB (five of them)."""
    path = ROOT / "data" / "eval" / "kb_answer_labels_train.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if r["article"] in ARTICLES]


def test_a_huge_head_start_answers_with_the_opening_and_the_whole_article_contains_every_label(warm_services, labels):
    encoder = warm_services.retriever.encoder
    assert len(labels) >= 4 and {r["paragraph"] for r in labels} != {0}
    result = evaluate(warm_services.catalog, encoder, labels, 60, lead_bonus=100.0)
    openings = sum(r["paragraph"] == 0 for r in labels) / len(labels)
    assert result["questions"] == len(labels) and result["lead_bonus"] == 100.0
    assert result["whole_article"]["contains_labelled"] == 1.0
    assert result["excerpt"]["first_choice"] == round(openings, 3) == result["lead"]["first_choice"]
    assert result["excerpt"]["p90_words"] <= 61 < result["whole_article"]["p90_words"]


def test_no_head_start_ranks_by_the_question_alone(warm_services, labels):
    encoder = warm_services.retriever.encoder
    with_bonus = evaluate(warm_services.catalog, encoder, labels, 60, lead_bonus=100.0)
    without = evaluate(warm_services.catalog, encoder, labels, 60, lead_bonus=-100.0)  # the opening never first
    assert without["excerpt"]["first_choice"] <= 1 - with_bonus["excerpt"]["first_choice"]


def test_a_label_whose_paragraph_is_gone_says_to_relabel(warm_services, labels):
    stale = [{**labels[0], "paragraph_start": "This paragraph is not in the article"}]
    with pytest.raises(click.ClickException, match="relabel"):
        evaluate(warm_services.catalog, warm_services.retriever.encoder, stale, 60)
