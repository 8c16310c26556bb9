"""`supportbot eval intents` end to end: a pizza shop's data (nothing of the demo bank), real Rasa training."""

from __future__ import annotations

import csv
import json
import subprocess

import pytest

from tests.support import ROOT, VENV_BIN

TRAIN = {
    "order_pizza": ["I'd like to order a pizza", "can I get a large margherita", "one pepperoni pizza please",
                    "I want to order food", "two medium pizzas for delivery", "can I place an order",
                    "order a vegetarian pizza", "I'd like a hawaiian, large"],
    "track_order": ["where is my order", "how long until my pizza arrives", "my delivery is late",
                    "track my order please", "has my pizza left the shop", "when will the driver get here",
                    "is my food on its way", "status of my order"],
    "opening_hours": ["when are you open", "what time do you close", "are you open on sundays",
                      "opening hours please", "how late are you open tonight", "do you open on bank holidays",
                      "what time do you open tomorrow", "are you open now"],
    "cancel_order": ["cancel my order", "I don't want the pizza anymore", "please cancel the delivery",
                     "can I cancel what I ordered", "stop my order", "I want to cancel",
                     "undo my order please", "cancel the pizza I just ordered"],
    "oos": ["what's the weather tomorrow", "tell me a joke", "how do I fix my bike", "who won the election",
            "recommend a good book", "what's the capital of Spain", "can you do my taxes",
            "how tall is the eiffel tower"],
}
TEST = {
    "order_pizza": ["I want a large pepperoni", "can I order two pizzas", "get me a margherita please"],
    "track_order": ["where's my pizza", "my order still hasn't arrived", "how far away is my delivery"],
    "opening_hours": ["what are your hours", "are you open late on friday", "when do you shut today"],
    "cancel_order": ["please cancel my pizza", "I need to cancel my order", "scrap my order"],
    "oos": ["how do I learn French", "what's a good film tonight", "is it going to rain", "play some jazz"],
}
KEYS = {"accuracy", "answered_accuracy", "top1_accuracy", "macro_f1", "in_scope_accuracy", "in_scope_fallback_rate", "oos_recall",
        "oos_precision", "train_seconds", "p50_ms", "p95_ms", "n_train", "n_test", "calibration"}


def write_yaml(path, data):
    lines = ['version: "3.1"', "nlu:"]
    for intent, examples in data.items():
        lines += [f"- intent: {intent}", "  examples: |"] + [f"    - {e}" for e in examples]
    path.write_text("\n".join(lines) + "\n")


def write_csv(path, data):
    with path.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["text", "intent"])
        writer.writerows((text, intent) for intent, texts in data.items() for text in texts)


def supportbot(*args, env, timeout=420):
    return subprocess.run([str(VENV_BIN / "supportbot"), *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def evaluated(tmp_path_factory, rasa_env):
    tmp = tmp_path_factory.mktemp("eval")
    write_yaml(tmp / "train.yml", TRAIN)  # Rasa NLU YAML for training ...
    write_csv(tmp / "test.csv", TEST)  # ... CSV for testing: both formats in one run
    proc = supportbot("eval", "intents", "--train", str(tmp / "train.yml"), "--test", str(tmp / "test.csv"),
                      "--oos-label", "oos", "--report", str(tmp / "report"), env=rasa_env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return tmp, proc


@pytest.mark.slow  # trains a Rasa NLU model
def test_prints_one_json_object_with_the_metrics(evaluated):
    _, proc = evaluated
    assert len(proc.stdout.strip().splitlines()) == 1  # progress went to stderr
    result = json.loads(proc.stdout)
    assert set(result) >= KEYS
    assert result["accuracy"] == result["answered_accuracy"]  # open-set test: rejections are graded
    for key in ("accuracy", "top1_accuracy", "macro_f1", "in_scope_accuracy", "oos_recall", "oos_precision"):
        assert 0.0 <= result[key] <= 1.0, key
    assert result["n_train"] == 40 and result["n_test"] == 16
    assert result["in_scope_accuracy"] >= 0.75 and result["oos_recall"] >= 0.5  # learnt something real
    assert result["train_seconds"] > 0 and 0 < result["p50_ms"] <= result["p95_ms"]
    calibration = result["calibration"]
    assert calibration["threshold_learnt"] and calibration["pseudo_oos_examples"] == 32  # the in-scope ones, left out
    assert calibration["out_of_fold_at_threshold"]["oos_examples"] == 8 + 32  # the oos rows + intents left out
    assert "predicting" in proc.stderr  # a progress bar


@pytest.mark.slow  # trains a Rasa NLU model
def test_prints_the_operating_curve_and_the_learnt_point(evaluated):
    _, proc = evaluated
    result = json.loads(proc.stdout)
    curve, point = result["operating_curve"], result["operating_point"]
    assert [c["threshold"] for c in curve] == sorted(c["threshold"] for c in curve) and curve[0]["threshold"] == 0.0
    recalls = [c["oos_recall"] for c in curve]
    assert recalls == sorted(recalls)  # a higher threshold rejects more ...
    assert curve[0]["in_scope_accuracy"] >= curve[-1]["in_scope_accuracy"]  # ... and answers less
    assert point["threshold"] == calibration_threshold(result) and point["expected_oos_share"] == 0.5
    assert point["oos_recall"] == result["oos_recall"] and point["in_scope_accuracy"] == result["in_scope_accuracy"]
    assert "<- learnt (expected_oos_share 0.5)" in proc.stderr  # the table for people


def calibration_threshold(result: dict) -> float:
    return round(result["calibration"]["threshold"], 4)


@pytest.mark.slow  # trains a Rasa NLU model
def test_report_has_confusion_matrix_and_per_intent_table(evaluated):
    tmp, proc = evaluated
    report = tmp / "report"
    for name in ("confusion_matrix.png", "per_intent.png", "operating_curve.png"):
        assert (report / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with (report / "per_intent.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert {r["intent"] for r in rows} == set(TEST) and sum(int(r["support"]) for r in rows) == 16
    with (report / "confusion_matrix.csv").open() as fh:
        matrix = list(csv.reader(fh))
    assert matrix[0][0].startswith("gold") and len(matrix) == 1 + len(TEST)
    assert sum(int(x) for row in matrix[1:] for x in row[1:]) == 16
    assert json.loads(proc.stdout)["report"]["predictions_csv"].endswith("predictions.csv")


def test_bad_input_is_refused_before_training(tmp_path, rasa_env):
    write_csv(tmp_path / "test.csv", TEST)
    missing = supportbot("eval", "intents", "--train", str(tmp_path / "nope.csv"), "--test",
                         str(tmp_path / "test.csv"), env=rasa_env, timeout=60)
    assert missing.returncode != 0 and "no such file" in missing.stderr and missing.stdout == ""
    (tmp_path / "bad.csv").write_text("sentence,label\nhello,greet\n")
    bad = supportbot("eval", "intents", "--train", str(tmp_path / "bad.csv"), "--test", str(tmp_path / "test.csv"),
                     env=rasa_env, timeout=60)
    assert bad.returncode != 0 and "text,intent" in bad.stderr
    (tmp_path / "one.csv").write_text("text,intent\nhello,greet\nhi,greet\n")
    one = supportbot("eval", "intents", "--train", str(tmp_path / "one.csv"), "--test", str(tmp_path / "test.csv"),
                     env=rasa_env, timeout=60)
    assert one.returncode != 0 and "two intents" in one.stderr
    no_equals = supportbot("eval", "intents", "--train", str(tmp_path / "test.csv"), "--test", str(tmp_path / "test.csv"),
                           "--classifier-option", "kernel_weight", env=rasa_env, timeout=60)
    assert no_equals.returncode != 0 and "NAME=VALUE" in no_equals.stderr
    other = supportbot("eval", "intents", "--train", str(tmp_path / "test.csv"), "--test", str(tmp_path / "test.csv"),
                       "--config", "nlu/benchmark_configs/minilm_lr.yml", "--classifier-option", "kernel_weight=0.5",
                       env=rasa_env, timeout=60)
    assert other.returncode != 0 and "no CalibratedIntentClassifier" in other.stderr


@pytest.mark.slow  # trains a Rasa NLU model
def test_a_classifier_option_is_set_for_the_run_only(tmp_path, rasa_env):
    write_csv(tmp_path / "train.csv", TRAIN)
    write_csv(tmp_path / "test.csv", TEST)
    before = (ROOT / "config.yml").read_text(encoding="utf-8")
    proc = supportbot("eval", "intents", "--train", str(tmp_path / "train.csv"), "--test", str(tmp_path / "test.csv"),
                      "--oos-label", "oos", "--classifier-option", "kernel_weight=0.5", env=rasa_env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout)
    assert result["classifier_options"] == {"kernel_weight": 0.5}
    assert result["calibration"]["kernel"]["weight"] == 0.5 and result["calibration"]["kernel"]["support_vectors"] > 0
    assert result["calibration"]["out_of_fold_at_threshold"]["oos_examples"] == 8 + 32  # the oos label still applied
    assert (ROOT / "config.yml").read_text(encoding="utf-8") == before
