"""data/prepare/banking77.py: reproducible, stratified, complete, readable by Rasa, clear on bad input."""

from __future__ import annotations

import csv
import importlib.util
import json
from collections import Counter

import pytest

from tests.nlu.conftest import DATASETS, run_rasa_python
from tests.support import ROOT

spec = importlib.util.spec_from_file_location("prepare_banking77", ROOT / "data" / "prepare" / "banking77.py")
prepare_banking77 = importlib.util.module_from_spec(spec)
spec.loader.exec_module(prepare_banking77)


def read_csv(path):
    with path.open(newline="", encoding="utf-8") as fh:
        return [(r["text"], r["intent"]) for r in csv.DictReader(fh)]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    out = tmp_path_factory.mktemp("prepared")
    manifest = prepare_banking77.prepare(DATASETS, nlu_out=out / "banking77.yml", eval_dir=out / "eval")
    return out, manifest


def test_split_is_reproducible_byte_for_byte(prepared, tmp_path):
    out, _ = prepared
    prepare_banking77.prepare(DATASETS, nlu_out=tmp_path / "banking77.yml", eval_dir=tmp_path / "eval")
    for name in ("train.csv", "test.csv", "oos_train.csv", "oos_test.csv", "oos_dev.csv"):
        assert (tmp_path / "eval" / name).read_bytes() == (out / "eval" / name).read_bytes(), name
    assert (tmp_path / "banking77.yml").read_bytes() == (out / "banking77.yml").read_bytes()
    other = prepare_banking77.prepare(DATASETS, nlu_out=tmp_path / "b.yml", eval_dir=tmp_path / "seed2", seed=2)
    assert read_csv(tmp_path / "seed2" / "test.csv") != read_csv(out / "eval" / "test.csv")
    assert other["counts"]["test"] == 1998


def test_split_is_stratified_disjoint_and_complete(prepared):
    out, manifest = prepared
    raw = prepare_banking77.read_banking77(DATASETS / "banking77" / "train.csv")
    source = prepare_banking77.unique(raw)
    train, test = read_csv(out / "eval" / "train.csv"), read_csv(out / "eval" / "test.csv")
    assert len(raw) == 10003 and len(source) == 9999  # 4 rows repeat others but for stray newlines
    assert len(train) + len(test) == len(source)
    assert Counter(train) + Counter(test) == Counter(source)  # every row exactly once
    per_intent, held = Counter(i for _, i in source), Counter(i for _, i in test)
    assert len(per_intent) == 77 and set(held) == set(per_intent)
    for intent, n in per_intent.items():
        assert held[intent] == round(n * 0.2), intent  # 20 % of EVERY intent, not just overall
    assert manifest["counts"] == {"source_rows": 10003, "all": 9999, "intents": 77, "train": 8001, "test": 1998,
                                  "oos_train": 88, "oos_test": 160, "oos_dev": 100}
    saved = json.loads((out / "eval" / "manifest.json").read_text())
    assert saved["seed"] == prepare_banking77.SEED and saved["source_fingerprint"]


def test_out_of_scope_sets_are_labelled_and_never_overlap(prepared):
    out, manifest = prepared
    oos_train = [t for t, i in read_csv(out / "eval" / "oos_train.csv") if i == "oos"]
    oos_test = [t for t, i in read_csv(out / "eval" / "oos_test.csv") if i == "oos"]
    assert len(oos_train) == manifest["counts"]["oos_train"] >= 50
    assert len(oos_test) == manifest["counts"]["oos_test"] >= 100
    oos_dev = [t for t, i in read_csv(out / "eval" / "oos_dev.csv") if i == "oos"]
    assert len(oos_dev) == manifest["counts"]["oos_dev"]
    sets = [{t.lower() for t in s} for s in (oos_train, oos_test, oos_dev)]
    assert not sets[0] & sets[1] and not sets[0] & sets[2] and not sets[1] & sets[2]
    banking = {t.lower() for t, _ in read_csv(out / "eval" / "train.csv")}
    assert not banking & (sets[1] | sets[2])


def test_rasa_reads_every_example_with_its_intent(prepared):
    out, _ = prepared
    code = (
        "from rasa.shared.nlu.training_data.loading import load_data\n"
        f"d = load_data({str(out / 'banking77.yml')!r})\n"
        "import json; print(json.dumps([len(d.intent_examples), len(d.intents), len(d.entity_examples)]))\n"
    )
    proc = run_rasa_python(code, env={"RASA_TELEMETRY_ENABLED": "false"}, cwd=out, timeout=120)
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [9999, 77, 0]


def test_missing_or_malformed_csv_is_a_clear_error(tmp_path):
    with pytest.raises(prepare_banking77.PrepareError, match="SUPPORTBOT_DATASETS_DIR"):
        prepare_banking77.prepare(tmp_path, nlu_out=tmp_path / "x.yml", eval_dir=tmp_path / "eval")
    (tmp_path / "banking77").mkdir()
    (tmp_path / "banking77" / "train.csv").write_text("sentence,label\nhello,greet\n")
    with pytest.raises(prepare_banking77.PrepareError, match="text,category"):
        prepare_banking77.prepare(tmp_path, nlu_out=tmp_path / "x.yml", eval_dir=tmp_path / "eval")
    assert not (tmp_path / "x.yml").exists()
    assert prepare_banking77.main(["--datasets-dir", str(tmp_path / "nowhere"), "--eval-dir", str(tmp_path / "e"),
                                   "--nlu-out", str(tmp_path / "y.yml")]) == 1
