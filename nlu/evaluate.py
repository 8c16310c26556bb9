"""`supportbot eval intents`: train the product's Rasa NLU pipeline on TRAIN, score it on TEST.

Runs in `.venv`; the training and the predictions happen in `.venv-rasa` through `nlu.eval_runner`
(the real `config.yml` pipeline, the real Rasa 3.6 code path: `train_nlu` + `Agent.parse_message`).

Metrics (all over TEST):
  accuracy      closed-set test (no --oos-label): = top1_accuracy, the definition of the literature
                and of every baseline it is compared with (Banking77: BERT-large 93.7 %, MiniLM + LR
                93.0 %); a closed-set test has no right answer for a rejection, so it cannot grade one.
                Open-set test (--oos-label): = answered_accuracy, where a rejection is gradeable.
  answered_accuracy  the pipeline's final answer is right; `nlu_fallback` counts as right only for a
                row labelled with --oos-label (then any prediction of that label also means "rejected")
  top1_accuracy the best real intent is right, ignoring the fallback decision
  macro_f1      of the final answers, over the labels present in TEST
  in_scope_accuracy / in_scope_fallback_rate   over rows not labelled --oos-label
  oos_recall / oos_precision                    only when --oos-label rows are present
  operating_curve  in-scope accuracy, OOS recall and accuracy had the fallback threshold been each of
                0, 0.05, ..., 0.95 (our classifier only: it reports each message's answerable score)
  operating_point  the same figures at the threshold the model learnt, with the expected_oos_share
                it was learnt for
  by_language   when TEST mixes languages (privacy.language.detect: Han characters, else lingua), the
                accuracies above over each language's rows, with their count
  alternative   "did you mean": on in-scope rows, how often the action server would offer the runner-up
                intent's article (`kb_alternative_ratio`, actions/knowledge.py), how many wrong best intents
                have the right one offered, and the share whose best or offered intent is right
                (`top1_or_offered_accuracy`)
  by_part       with `parts` (`--part FILE`): the same over the TEST rows whose text is in each FILE (keyed by
                its name), e.g. two held-out sets of one language scored apart in one run
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlu.eval_data import read_rows

FALLBACK = "nlu_fallback"
REJECTED = "<fallback>"  # the pipeline declined to answer (nlu_fallback, or the out-of-scope intent)


class EvalError(RuntimeError):
    """The evaluation could not run; the message says what to do."""


@dataclass
class Scores:
    gold: list[str]
    final: list[str]  # the pipeline's answer, REJECTED for a fallback or an out-of-scope intent
    top1: list[str]
    oos_label: str | None

    def answers(self) -> list[str]:
        """Final labels, a rejection written as the out-of-scope label when there is one."""
        return [self.oos_label if (p == REJECTED and self.oos_label) else p for p in self.final]

    def metrics(self) -> dict:
        from sklearn.metrics import f1_score

        gold = np.array(self.gold)
        final = np.array(self.answers())
        top1 = np.array(self.top1)
        is_oos = gold == self.oos_label if self.oos_label else np.zeros(len(gold), bool)
        rejected = np.array([p == REJECTED for p in self.final])
        inside = ~is_oos
        labels = sorted(set(self.gold))
        answered = _rate(final == gold)
        top1_rate = _rate((top1 == gold)[inside])
        out = {
            "accuracy": answered if self.oos_label else top1_rate,
            "answered_accuracy": answered,
            "top1_accuracy": top1_rate,
            "macro_f1": round(float(f1_score(gold, final, labels=labels, average="macro", zero_division=0)), 4),
            "in_scope_accuracy": _rate((final == gold)[inside]),
            "in_scope_fallback_rate": _rate(rejected[inside]),
        }
        if is_oos.any():
            out["oos_recall"] = _rate(rejected[is_oos])
            out["oos_precision"] = _rate(is_oos[rejected]) if rejected.any() else 0.0  # nothing rejected: none right
        return out


def _rate(mask: np.ndarray) -> float | None:
    """A share, or None (JSON null) when there is nothing to count (e.g. a test of out-of-scope rows only)."""
    return round(float(np.mean(mask)), 4) if len(mask) else None


def rasa_python() -> Path:
    from core.settings import get_settings

    python = Path(get_settings().rasa_venv) / "bin" / "python"
    if not python.is_file():
        raise EvalError(f"The Rasa runtime is missing ({python}); run `make setup`.")
    return python


def run_rasa(job: dict, workdir: Path, timeout_s: float | None = None) -> dict:
    """Runs nlu.eval_runner in the Rasa runtime; its output goes to our stderr."""
    job_path, result_path = workdir / "job.json", workdir / "result.json"
    job_path.write_text(json.dumps(job), encoding="utf-8")
    env = dict(os.environ, RASA_MAX_CACHE_SIZE="0", HF_HUB_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="2", RASA_TELEMETRY_ENABLED="false",
               PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    try:
        proc = subprocess.run([str(rasa_python()), "-m", "nlu.eval_runner", str(job_path), str(result_path)],
                              stdout=sys.stderr, stderr=sys.stderr, env=env, timeout=timeout_s, cwd=workdir)
    except subprocess.TimeoutExpired as exc:
        raise EvalError(f"training and prediction took longer than {timeout_s:.0f} s") from exc
    if proc.returncode != 0 or not result_path.is_file():
        raise EvalError(f"the Rasa runtime failed (exit code {proc.returncode}); its messages are above")
    return json.loads(result_path.read_text(encoding="utf-8"))


def evaluate(train: Path, test: Path, config: Path, oos_label: str | None = None,
             report_dir: Path | None = None, timeout_s: float | None = None,
             parts: list[Path] | None = None, classifier_options: dict | None = None) -> dict:
    """Trains on `train`, predicts `test`, returns the metrics dict (see module docstring); `classifier_options`
    override the intent classifier's options of `config` for this run (`nlu.eval_runner` sets them)."""

    train_rows, test_rows = read_rows(train), read_rows(test)
    part_texts = {Path(p).name: {t for t, _ in read_rows(p)} for p in parts or []}
    if len({intent for _, intent in train_rows}) < 2:
        raise EvalError(f"{train}: needs at least two intents to train a classifier")
    if not Path(config).is_file():
        raise EvalError(f"{config}: no such Rasa config")
    if classifier_options and "CalibratedIntentClassifier" not in Path(config).read_text(encoding="utf-8"):
        raise EvalError(f"{config}: its pipeline has no CalibratedIntentClassifier to set {sorted(classifier_options)} "
                        "on; drop --classifier-option or use a config with it")
    unseen = sorted({i for _, i in test_rows} - {i for _, i in train_rows} - {oos_label})
    with tempfile.TemporaryDirectory(prefix="supportbot-eval-") as tmp:
        workdir = Path(tmp)
        job = {
            "config": str(Path(config).resolve()),
            "workdir": str(workdir),
            "test_texts": [t for t, _ in test_rows],
            "oos_label": oos_label,
            "classifier_options": classifier_options or {},
        }
        if Path(train).suffix.lower() in (".yml", ".yaml"):
            job["train_yaml"] = str(Path(train).resolve())  # keeps entities, regexes, synonyms
        else:
            job["train_rows"] = train_rows
        result = run_rasa(job, workdir, timeout_s)
    oos_intents = {oos_label} if oos_label else set()
    preds = result["predictions"]
    scores = Scores(
        gold=[i for _, i in test_rows],
        final=[REJECTED if (p["intent"] == FALLBACK or p["intent"] in oos_intents) else str(p["intent"]) for p in preds],
        top1=[str(p["top1"]) for p in preds],
        oos_label=oos_label,
    )
    latencies = np.array(result["latencies_ms"])
    out = scores.metrics() | {
        "train_seconds": result["train_seconds"],
        "p50_ms": round(float(np.percentile(latencies, 50)), 2),
        "p95_ms": round(float(np.percentile(latencies, 95)), 2),
        "n_train": len(train_rows),
        "n_test": len(test_rows),
        "n_intents": len({i for _, i in train_rows}),
        "test_labels_unseen_in_train": unseen,
        "config": str(config),
        "classifier_options": classifier_options or {},
        "calibration": result.get("calibration"),
        "rasa_version": result.get("rasa_version"),
    }
    by_language = _by_language([t for t, _ in test_rows], scores)
    if by_language:
        out["by_language"] = by_language
    if part_texts:
        out["by_part"] = {name: _subset_metrics([i for i, (t, _) in enumerate(test_rows) if t in texts], scores)
                          for name, texts in part_texts.items()}
    alternative = _alternatives(preds, scores)
    if alternative is not None:
        out["alternative"] = alternative
    curve = _operating_curve(preds, scores, oos_intents)
    if curve is not None:
        out["operating_curve"], out["operating_point"] = curve
        if out["operating_point"] is not None and out.get("calibration"):
            out["operating_point"]["expected_oos_share"] = out["calibration"].get("expected_oos_share")
    if report_dir is not None:
        from nlu.eval_report import write_report

        out["report"] = write_report(Path(report_dir), test_rows, scores, preds, out.get("operating_curve"),
                                     out.get("operating_point"))
    return out


def _alternatives(preds: list[dict], scores: Scores, ratio: float | None = None) -> dict | None:
    """What "Did you mean" adds on the in-scope rows (see the module docstring): the best real intent stands for
    the article that answers (one article per intent, as in the demo KB)."""
    from actions.knowledge import real_intents, runner_up
    from core.settings import Settings

    if not any(p.get("intent_ranking") for p in preds):
        return None  # a runner without rankings
    ratio = Settings().kb_alternative_ratio if ratio is None else ratio
    offered = [runner_up(real_intents(p.get("intent_ranking")), ratio) for p in preds]
    inside = [i for i, g in enumerate(scores.gold) if g != scores.oos_label]
    wrong = [i for i in inside if scores.top1[i] != scores.gold[i]]
    rescued = sum(offered[i] == scores.gold[i] for i in wrong)
    return {"ratio": ratio,
            "offered_rate": _rate(np.array([offered[i] is not None for i in inside])),
            "wrong_top1": len(wrong), "wrong_with_right_offered": rescued,
            "top1_or_offered_accuracy": round((len(inside) - len(wrong) + rescued) / len(inside), 4) if inside else None}


def _by_language(texts: list[str], scores: Scores) -> dict | None:
    """Accuracy, top-1 and answered accuracy per detected language; None for a one-language test."""
    from privacy.language import detect

    languages = [detect(t, default="en", languages=("en", "zh")) for t in texts]
    if len(set(languages)) < 2:
        return None
    return {language: _subset_metrics([i for i, lang in enumerate(languages) if lang == language], scores)
            for language in sorted(set(languages))}


def _subset_metrics(rows: list[int], scores: Scores) -> dict:
    """Accuracy, top-1, answered accuracy and fallback rate over some test rows, with their count."""
    if not rows:
        return {"n": 0}
    part = Scores([scores.gold[i] for i in rows], [scores.final[i] for i in rows],
                  [scores.top1[i] for i in rows], scores.oos_label).metrics()
    return {k: part[k] for k in ("accuracy", "top1_accuracy", "answered_accuracy",
                                 "in_scope_fallback_rate")} | {"n": len(rows)}


def _operating_curve(preds: list[dict], scores: Scores, oos_intents: set[str]) -> tuple[list, dict] | None:
    """(curve over thresholds, the point at the learnt threshold), or None for other classifiers."""
    if not preds or any(p.get("oos_score") is None for p in preds):
        return None
    from rasa_plugins.calibration import operating_curve

    gold = np.array(scores.gold)
    top1 = np.array(scores.top1)
    score = np.array([p["oos_score"] for p in preds], dtype=float)
    is_oos = gold == scores.oos_label if scores.oos_label else np.zeros(len(gold), bool)
    predicted_oos = np.isin(top1, sorted(oos_intents))
    learnt = float(preds[0]["oos_threshold"])
    grid = np.round(np.linspace(0.0, 0.95, 20), 2)
    curve = operating_curve(score, top1 == gold, is_oos, predicted_oos, grid)
    point = operating_curve(score, top1 == gold, is_oos, predicted_oos, np.array([learnt]))[0]
    return curve, point
