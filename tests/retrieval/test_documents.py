"""Every input format read into documents, the ABCD handbook as published, broken files named."""

from __future__ import annotations

import json

import pytest

from retrieval.documents import read_file
from retrieval.errors import DocumentError, UnsupportedFormat

from .conftest import ABCD_HANDBOOK, write_kb


@pytest.fixture(scope="module")
def kb(tmp_path_factory):
    return write_kb(tmp_path_factory.mktemp("docs") / "kb")


def test_markdown_front_matter_becomes_title_url_and_metadata(kb):
    [doc] = read_file(kb / "card_arrival.md", "card_arrival.md")
    assert doc.doc_id == "card_arrival.md"
    assert doc.title == "My card hasn't arrived yet"
    assert doc.url == "https://help.harborbank.example/articles/card-arrival"
    assert doc.meta["category"] == "Cards" and doc.meta["topic"] == "card_arrival"
    assert not doc.text.startswith("---") and "# My card hasn't arrived yet" in doc.text
    assert doc.source == str((kb / "card_arrival.md").resolve())


def test_plain_text_takes_its_first_line_as_title(kb):
    [doc] = read_file(kb / "opening-hours.txt", "opening-hours.txt")
    assert doc.title == "Opening hours" and "8am to 8pm" in doc.text


def test_html_keeps_structure_and_drops_scripts_and_navigation(kb):
    [doc] = read_file(kb / "travel.html", "travel.html")
    assert doc.title == "Travel notice" and doc.url == "https://help.example/travel"
    assert "## Cash abroad" in doc.text and "- After that a 2% fee applies." in doc.text
    assert "tracking" not in doc.text and "Home | Cards" not in doc.text


def test_json_jsonl_and_csv_records(kb):
    fees = read_file(kb / "fees.json", "fees.json")
    assert [d.doc_id for d in fees] == ["fee-wire", "fee-atm"]
    assert fees[0].url == "https://help.example/fees/wire" and fees[0].meta == {"category": "Fees"}
    faq = read_file(kb / "faq.jsonl", "faq.jsonl")
    assert [d.title for d in faq] == ["Forgotten PIN", "Error XQ7"]
    [limit] = read_file(kb / "limits.csv", "limits.csv")
    assert limit.doc_id == "lim-daily" and "5,000 GBP" in limit.text


def test_question_answer_csv_and_records_without_ids(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text("question,answer\nHow do I close my account?,Tap Profile > Close account.\n")
    [doc] = read_file(path, "qa.csv")
    assert doc.title == "How do I close my account?" and doc.doc_id == "qa.csv#2"
    wrapped = tmp_path / "wrapped.json"
    wrapped.write_text(json.dumps({"documents": [{"title": "T", "text": "Body"}]}))
    assert read_file(wrapped, "wrapped.json")[0].doc_id == "wrapped.json#0"


def test_abcd_handbook_is_read_as_published():
    docs = read_file(ABCD_HANDBOOK, "abcd/guidelines.json")
    handbook = json.loads(ABCD_HANDBOOK.read_text())
    assert len(docs) == sum(len(flow["subflows"]) for flow in handbook.values())
    by_title = {d.title: d for d in docs}
    refund = by_title["Product Defect: Initiate Refund"]
    assert refund.doc_id == "abcd/guidelines.json#product-defect/initiate-refund"
    assert refund.meta == {"flow": "Product Defect", "subflow": "Initiate Refund", "category": "Product Defect"}
    assert "(button: Validate Purchase)" in refund.text and "- Gift card" in refund.text
    assert len({d.doc_id for d in docs}) == len(docs)


@pytest.mark.parametrize("name, content, message", [
    ("broken.json", '{"id": "x", "text": ', "cannot parse as json"),
    ("broken.jsonl", '{"id": "a", "text": "fine"}\n{oops}\n', "line 2 is not valid JSON"),
    ("columns.csv", "name,body\nx,y\n", "needs a 'text'"),
    ("front.md", "---\ntitle: [unclosed\n---\n# Body\n", "front matter"),
    ("notext.json", '[{"id": "a", "title": "no text"}]', "record 0 has no text"),
    ("shape.json", '"just a string"', "expected a list"),
])
def test_broken_files_raise_an_error_naming_the_file(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(DocumentError, match=message) as info:
        read_file(path, name)
    assert str(path) in str(info.value)


def test_binary_and_unsupported_files_are_refused(tmp_path):
    binary = tmp_path / "scan.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81 not text")
    with pytest.raises(DocumentError, match="not UTF-8"):
        read_file(binary, "scan.txt")
    pdf = tmp_path / "manual.pdf"
    pdf.write_bytes(b"%PDF-1.4")
    with pytest.raises(UnsupportedFormat, match="unsupported format '.pdf'"):
        read_file(pdf, "manual.pdf")
