"""Ingestion into the versioned index: every format, incremental updates, deletes, broken files."""

from __future__ import annotations

import json
import shutil

import pytest

from retrieval.encoder import Encoder
from retrieval.errors import EncoderMismatch, IndexMissing
from retrieval.ingest import ingest_paths
from retrieval.passages import PassageStore
from retrieval.service import Retriever

from .conftest import ABCD_HANDBOOK, make_settings


def retriever(index_dir, settings, encoder, **kw) -> Retriever:
    return Retriever(index_dir, settings=settings, encoder=encoder, **kw).load()


def doc_ids(results) -> list[str]:
    return [r["doc_id"] for r in results]


def passage_ids_by_doc(index_dir) -> dict[str, list[int]]:
    manifest = json.loads((index_dir / "manifest.json").read_text())
    store = PassageStore(index_dir / manifest["path"] / "passages.sqlite")
    try:
        rows = store.get(range(1, 10_000))
        out: dict[str, list[int]] = {}
        for pid, row in sorted(rows.items()):
            out.setdefault(row["doc_id"], []).append(pid)
        return out
    finally:
        store.close()


@pytest.mark.slow
def test_every_format_and_the_handbook_ingest_and_a_broken_file_is_skipped(shared_index, encoder):
    index_dir, settings, report, kb_folder = shared_index

    assert [e["path"] for e in report["errors"]] == [str(kb_folder / "broken.json")]
    assert "cannot parse as json" in report["errors"][0]["error"]
    handbook = sum(len(f["subflows"]) for f in json.loads(ABCD_HANDBOOK.read_text()).values())
    assert report["added"] == report["documents"] == 2 + 1 + 1 + 2 + 2 + 1 + handbook
    assert report["index_type"] == "Flat" and report["rebuilt"] == "new index"

    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["encoder"]["fingerprint"] == encoder.fingerprint and manifest["encoder"]["dim"] == 384
    assert manifest["passages"] == report["passages"] and manifest["index"]["vectors"] == report["passages"]
    assert (index_dir / manifest["path"] / "index.faiss").is_file()

    r = retriever(index_dir, settings, encoder, mode="dense")
    expectations = {
        "my new card has not been delivered": "card_arrival.md",  # markdown
        "what time does the phone line open": "opening-hours.txt",  # text
        "do I need to tell you before I travel abroad": "travel.html",  # html
        "how much does an international wire cost": "fee-wire",  # json
        "I forgot my PIN": "faq-pin",  # jsonl
        "what is my daily spending limit": "lim-daily",  # csv
        "customer wants to reset two-factor authentication": "ABCD_HANDBOOK",
    }
    for query, expected in expectations.items():
        top = r.search(query, k=3)[0]
        if expected == "ABCD_HANDBOOK":
            assert top["doc_id"] == "guidelines.json#account-access/reset-two-factor-auth", query
        else:
            assert top["doc_id"] == expected, query
    hit = r.search("What does error XQ7 mean?", k=1)[0]
    assert set(hit) >= {"passage_id", "doc_id", "title", "url", "text", "score"}
    assert hit["url"] == "https://help.example/xq7" and hit["title"] == "Error XQ7"


def test_incremental_update_delete_and_noop(tmp_path, kb_folder, encoder):
    settings = make_settings(tmp_path)
    index_dir = tmp_path / "index"
    first = ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder)
    before = passage_ids_by_doc(index_dir)

    again = ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder)
    assert (again["added"], again["updated"], again["removed"]) == (0, 0, 0)
    assert again["unchanged"] == first["documents"] and again["version"] == first["version"]

    (kb_folder / "opening-hours.txt").write_text("Opening hours\n\nThe phone line now answers around the clock, "
                                                 "every day of the year, including bank holidays.\n")
    (kb_folder / "travel.html").unlink()
    update = ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder)
    assert (update["added"], update["updated"], update["removed"]) == (0, 1, 1)
    assert update["version"] != first["version"]
    after = passage_ids_by_doc(index_dir)
    assert "travel.html" not in after
    assert after["card_arrival.md"] == before["card_arrival.md"]  # unchanged documents keep their passages
    assert set(after["opening-hours.txt"]).isdisjoint(before["opening-hours.txt"])

    r = retriever(index_dir, settings, encoder, mode="hybrid")
    results = r.search("is the phone line open on bank holidays", k=20)
    assert "around the clock" in results[0]["text"]
    assert all("8am to 8pm" not in x["text"] for x in results)
    assert "travel.html" not in doc_ids(r.search("travel abroad card works in 150 countries", k=20))


def test_broken_or_missing_input_never_deletes_what_was_indexed(tmp_path, kb_folder, encoder):
    settings = make_settings(tmp_path)
    index_dir = tmp_path / "index"
    ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder)
    (kb_folder / "fees.json").write_text("{ this is not json")
    report = ingest_paths([kb_folder, tmp_path / "nowhere"], index_dir, settings=settings, encoder=encoder)
    assert {e["path"] for e in report["errors"]} == {str(kb_folder / "fees.json"), str(tmp_path / "nowhere")}
    assert report["removed"] == 0
    r = retriever(index_dir, settings, encoder)
    assert r.search("international wire fee", k=1)[0]["doc_id"] == "fee-wire"


def two_sources(tmp_path, kb_folder, encoder, moved: str):
    """An index over kb_folder plus a second folder holding `moved` (taken out of kb_folder)."""
    settings = make_settings(tmp_path)
    index_dir = tmp_path / "index"
    other = tmp_path / "other"
    other.mkdir()
    shutil.move(str(kb_folder / moved), other / moved)
    ingest_paths([kb_folder, other], index_dir, settings=settings, encoder=encoder)
    return settings, index_dir, other


def test_paths_outside_the_ingested_scope_are_kept(tmp_path, kb_folder, encoder):
    settings, index_dir, _ = two_sources(tmp_path, kb_folder, encoder, "limits.csv")
    report = ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder)
    assert report["removed"] == 0
    assert retriever(index_dir, settings, encoder).search("daily spending limit", k=1)[0]["doc_id"] == "lim-daily"


def test_index_type_follows_size_and_a_factory_string_forces_it(tmp_path, kb_folder, encoder):
    settings = make_settings(tmp_path, flat_max_passages=3)
    index_dir = tmp_path / "index"
    report = ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder)
    assert report["index_type"] == "HNSW32,Flat"
    r = retriever(index_dir, settings, encoder, mode="dense")
    hnsw_top = doc_ids(r.search("I lost my card", k=3))

    forced = ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder, factory="Flat")
    assert forced["index_type"] == "Flat" and forced["version"] != report["version"]
    assert r.reload_if_changed(force=True)
    assert doc_ids(r.search("I lost my card", k=3)) == hnsw_top  # same vectors, exact search
    assert r.status()["index_type"] == "Flat"


def test_another_encoder_is_refused_and_a_full_reingest_rebuilds(tmp_path, kb_folder, encoder, tiny_encoder_dir):
    settings, index_dir, other_source = two_sources(tmp_path, kb_folder, encoder, "faq.jsonl")

    tiny = Encoder(str(tiny_encoder_dir))
    with pytest.raises(EncoderMismatch, match="kb ingest --rebuild"):
        Retriever(index_dir, settings=settings, encoder=tiny).load()
    with pytest.raises(EncoderMismatch):  # re-encoding only kb_folder would mix two vector spaces
        ingest_paths([kb_folder], index_dir, settings=settings, encoder=tiny)

    report = ingest_paths([kb_folder, other_source], index_dir, settings=settings, encoder=tiny)
    assert report["rebuilt"] == "encoder changed" and report["added"] == report["documents"]
    manifest = json.loads((index_dir / "manifest.json").read_text())
    assert manifest["encoder"]["dim"] == 32 and manifest["encoder"]["fingerprint"] == tiny.fingerprint
    assert Retriever(index_dir, settings=settings, encoder=tiny).load().search("PIN", k=1)
    with pytest.raises(EncoderMismatch):
        Retriever(index_dir, settings=settings, encoder=encoder).load()


def test_missing_index_says_how_to_build_one(tmp_path, encoder):
    with pytest.raises(IndexMissing, match="supportbot train.*supportbot kb ingest"):
        Retriever(tmp_path / "empty", settings=make_settings(tmp_path), encoder=encoder).load()


def test_old_versions_are_pruned(tmp_path, kb_folder, encoder):
    settings = make_settings(tmp_path, index_versions_kept=2)
    index_dir = tmp_path / "index"
    for i in range(4):
        (kb_folder / "note.txt").write_text(f"Note\n\nRevision number {i} of the note.\n")
        ingest_paths([kb_folder], index_dir, settings=settings, encoder=encoder)
    assert len(list((index_dir / "versions").iterdir())) == 2
