"""The retrieval commands end to end on tiny inputs: kb ingest/search/status, eval retrieval,
bench index, and the evaluation-set prepare script."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bot.cli import cli
from core.settings import ROOT

from .conftest import DATASETS

SUPPORTBOT = str(ROOT / ".venv" / "bin" / "supportbot")

CORPUS = [
    {"id": "pin", "title": "Change your PIN", "text": "Change your PIN at any cash machine under PIN services."},
    {"id": "fx", "title": "Exchange rates", "text": "We convert foreign currency payments at the Visa rate."},
    {"id": "close", "title": "Close your account", "text": "Close your account in the app under Profile."},
    {"id": "topup", "title": "Top up by card", "text": "Top up instantly with a debit card; it is free."},
]
QUERIES = [
    {"query": "how can I change my PIN", "relevant_ids": ["pin"]},
    {"query": "what exchange rate do you use for foreign payments", "relevant_ids": ["fx"]},
    {"query": "I want to close my account", "relevant_ids": ["close"]},
    {"query": "can I top up with a card", "relevant_ids": ["topup"]},
]


def run_cli(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


@pytest.mark.slow
def test_kb_ingest_status_and_search_through_the_installed_command(tmp_path, kb_folder):
    env = {**os.environ, "SUPPORTBOT_VAR_DIR": str(tmp_path / "var"), "HF_HUB_OFFLINE": "1"}
    (kb_folder / "bad.jsonl").write_text("not json\n")
    ingest = subprocess.run([SUPPORTBOT, "kb", "ingest", str(kb_folder)], env=env, capture_output=True,
                            text=True, timeout=300)
    assert ingest.returncode == 0, ingest.stderr
    report = json.loads(ingest.stdout)
    assert report["index_dir"] == str(tmp_path / "var" / "index" / "kb")
    assert report["added"] == 9 and [e["path"] for e in report["errors"]] == [str(kb_folder / "bad.jsonl")]
    assert f"skipped {kb_folder / 'bad.jsonl'}" in ingest.stderr

    index_dir = str(tmp_path / "var" / "index" / "kb")
    code, out, _ = run_cli("kb", "status", "--index-dir", index_dir)
    assert code == 0 and json.loads(out)["documents"] == 9

    code, out, _ = run_cli("kb", "search", "what is the fee for an international wire", "--k", "2",
                           "--index-dir", index_dir, "--filter", "category=Fees")
    results = json.loads(out)["results"]
    assert code == 0 and results[0]["doc_id"] == "fee-wire" and len(results) == 2

    code, _, _ = run_cli("kb", "ingest", str(kb_folder), "--index-dir", index_dir, "--strict")
    assert code == 1  # the broken file makes --strict fail; the index is still up to date


def test_kb_commands_fail_cleanly_without_an_index(tmp_path):
    code, _, err = run_cli("kb", "search", "anything", "--index-dir", str(tmp_path / "none"))
    assert code == 1 and "supportbot kb ingest" in err
    code, _, err = run_cli("kb", "status", "--index-dir", str(tmp_path / "none"))
    assert code == 1 and "No knowledge-base index" in err
    code, _, err = run_cli("kb", "search", "x", "--filter", "novalue", "--index-dir", str(tmp_path))
    assert code == 2 and "KEY=VALUE" in err


def write_jsonl(path, rows) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


def test_eval_retrieval_prints_one_json_object_with_every_mode(tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    queries = write_jsonl(tmp_path / "queries.jsonl", QUERIES)
    code, out, _ = run_cli("eval", "retrieval", "--corpus", corpus, "--queries", queries, "--k", "3")
    assert code == 0
    result = json.loads(out)
    for mode in ("dense", "bm25", "hybrid"):
        m = result[mode]
        assert set(m) == {"recall@1", "recall@3", "recall@5", "mrr@3", "ndcg@3", "p50_ms", "p95_ms",
                          "cpu_p50_ms", "cpu_p95_ms"}
        assert m["recall@1"] <= m["recall@3"] and 0 < m["mrr@3"] <= 1 and m["p95_ms"] >= m["p50_ms"] > 0
    assert result["dense"]["recall@1"] == 1.0  # four unambiguous questions
    assert result["setup"]["documents"] == 4 and result["setup"]["queries"] == 4


def test_eval_retrieval_refuses_malformed_queries(tmp_path):
    corpus = write_jsonl(tmp_path / "corpus.jsonl", CORPUS)
    bad = tmp_path / "queries.jsonl"
    bad.write_text('{"query": "pin", "relevant_ids": ["pin"]}\n{"query": "no ids"}\n')
    code, _, err = run_cli("eval", "retrieval", "--corpus", corpus, "--queries", str(bad))
    assert code == 1 and "line 2" in err
    unknown = write_jsonl(tmp_path / "unknown.jsonl", [{"query": "pin", "relevant_ids": ["nope"]}])
    code, _, err = run_cli("eval", "retrieval", "--corpus", corpus, "--queries", unknown)
    assert code == 1 and "not in the corpus" in err


def test_bench_index_measures_each_type_against_exact_search():
    code, out, _ = run_cli("bench", "index", "--n", "3000", "--dim", "32", "--queries", "40",
                           "--types", "flat,hnsw,ivf")
    assert code == 0
    result = json.loads(out)
    by_type = {r["type"]: r for r in result["summary"]}
    assert set(by_type) == {"flat", "hnsw", "ivf"}
    assert by_type["flat"]["recall@10"] == 1.0
    assert by_type["hnsw"]["recall@10"] >= 0.95 and by_type["hnsw"]["single_p95_ms"] > 0
    assert all(r["build_s"] >= 0 and r["memory_mb"] > 0 for r in result["summary"])


def test_prepare_eval_uses_only_held_out_banking77_questions(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench.retrieval_eval_set", "--out", str(tmp_path),
                           "--per-intent", "2", "--datasets-dir", str(DATASETS)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    corpus = [json.loads(x) for x in (tmp_path / "corpus.jsonl").read_text().splitlines()]
    queries = [json.loads(x) for x in (tmp_path / "queries.jsonl").read_text().splitlines()]
    ids = {c["id"] for c in corpus}
    assert len(corpus) == len(list((ROOT / "data" / "kb").glob("*.md")))
    assert len(queries) == 2 * len(ids)
    assert all(q["relevant_ids"][0] in ids for q in queries)

    from bench.retrieval_eval_set import _banking77_prepare

    b77 = _banking77_prepare()
    train, test = b77.stratified_split(b77.read_banking77(DATASETS / "banking77" / "train.csv"))
    held_out, seen = {t for t, _ in test}, {t for t, _ in train}
    assert all(q["query"] in held_out and q["query"] not in seen for q in queries)
    dev = [json.loads(x) for x in (tmp_path / "dev_queries.jsonl").read_text().splitlines()]
    assert len(dev) == 2 * len(ids) and all(q["query"] in seen for q in dev)  # tuning never sees the test
