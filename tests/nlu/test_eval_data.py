"""Reading CSV and Rasa NLU YAML for the evaluation command."""

from __future__ import annotations

import pytest

from nlu.eval_data import DataError, plain_text, read_rows


def test_entity_annotations_are_stripped():
    assert plain_text("the card ends in [4821](card_last4)") == "the card ends in 4821"
    assert plain_text('from [Berlin]{"entity": "city", "role": "from"} please') == "from Berlin please"
    assert plain_text("no annotation (really)") == "no annotation (really)"


def test_yaml_and_csv_give_the_same_rows(tmp_path):
    (tmp_path / "d.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: inform\n  examples: |\n    - ends in [1234](card_last4)\n    - [0042](card_last4)\n'
        "- regex: card_last4\n  examples: |\n    - \\d{4}\n- intent: greet\n  examples: |\n    - hi\n"
    )
    (tmp_path / "d.csv").write_text('text,intent\nends in 1234,inform\n0042,inform\n"hi",greet\n')
    assert read_rows(tmp_path / "d.yml") == read_rows(tmp_path / "d.csv") == [
        ("ends in 1234", "inform"), ("0042", "inform"), ("hi", "greet")]


@pytest.mark.parametrize("name, content, message", [
    ("a.txt", "hello", "use a .csv file"),
    ("a.csv", "", "header"),
    ("a.csv", "text,intent\nhello,\n", "line 2"),
    ("a.csv", b"text,intent\n\xff\xfe,greet\n", "UTF-8"),
    ("a.yml", "nlu: [unclosed", "not valid YAML"),
    ("a.yml", "nlu:\n- intent: greet\n  examples: [hi]\n", "`|` block"),
    ("a.yml", "version: '3.1'\nnlu: []\n", "no labelled examples"),
])
def test_broken_files_get_a_clear_error(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(DataError, match=message):
        read_rows(path)
