"""bench.nlu_latency's pieces that need no Rasa: reading messages, the language rule, percentiles.

(The measurement itself loads a Rasa model in `.venv-rasa`; docs/benchmarks.md has its figures.)"""

from pathlib import Path

import pytest

from bench.chat import percentile
from bench.nlu_latency import language, read_texts, summary


def test_reads_the_text_column_of_a_csv_and_lines_of_other_files(tmp_path: Path):
    csv_file = tmp_path / "q.csv"
    csv_file.write_text("text,intent\n我的卡丢了,lost_card\nwhere is my card,card_arrival\n", encoding="utf-8")
    lines = tmp_path / "q.txt"
    lines.write_text("hello\n\n  top up  \n", encoding="utf-8")
    assert read_texts(csv_file, 0) == ["我的卡丢了", "where is my card"]
    assert read_texts(lines, 1) == ["hello"]
    empty = tmp_path / "e.csv"
    empty.write_text("intent\nx\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="text"):
        read_texts(empty, 0)


def test_language_follows_the_classifier_rule():
    assert language("我的卡丢了怎么办") == "zh"
    assert language("my card was lost") == "other"  # the rule names only Chinese
    assert language("怎么绑定Apple Pay") == "zh"  # as many Chinese characters as Latin words, or more
    assert language("12345") == "other"


def test_percentiles_and_summary():
    rows = [(float(i), float(i) / 2) for i in range(1, 101)]
    out = summary(rows)
    assert out["messages"] == 100
    assert out["wall_ms_p50"] == percentile([w for w, _ in rows], 50) == 51.0
    assert out["wall_ms_p95"] == 95.0 and out["cpu_ms_p95"] == 47.5
