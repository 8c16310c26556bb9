"""Trains a Rasa NLU model and predicts a test set — the part of `supportbot eval intents` that runs
inside `.venv-rasa` (Python 3.10, Rasa 3.6), started by `nlu.evaluate` as

    .venv-rasa/bin/python -m nlu.eval_runner JOB.json RESULT.json

JOB: {"config", "workdir", "train_yaml" | "train_rows": [[text, intent], ...], "test_texts": [...],
      "oos_label": str | null, "classifier_options": {name: value} (optional)}
RESULT: {"train_seconds", "predictions": [{"intent", "confidence", "top1", "top1_confidence",
                                          "oos_score", "oos_threshold"}],
         "latencies_ms": [...], "calibration": {...} | null, "rasa_version"}
Progress and Rasa's own output go to stderr; nothing is printed on stdout.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tarfile
import time
from pathlib import Path

FALLBACK = "nlu_fallback"


def _training_file(job: dict, workdir: Path) -> str:
    if job.get("train_yaml"):
        return job["train_yaml"]
    from rasa.shared.nlu.training_data.message import Message
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = TrainingData([Message(data={"text": t, "intent": i}) for t, i in job["train_rows"]])
    path = workdir / "train_nlu.yml"
    data.persist_nlu(str(path))
    return str(path)


def _job_config(config: str, oos_label: str | None, options: dict | None, workdir: Path) -> str:
    """The same config, with the test's out-of-scope label added to our classifier's `oos_intents` and the
    job's `classifier_options` set on it (`supportbot eval intents --classifier-option`)."""
    if not oos_label and not options:
        return config
    from rasa.shared.utils.io import read_yaml_file, write_yaml

    content = read_yaml_file(config)
    for component in content.get("pipeline") or []:
        if str(component.get("name", "")).endswith("CalibratedIntentClassifier"):
            component.update(options or {})
            if oos_label:
                labels = list(component.get("oos_intents") or ["out_of_scope", "oos"])
                component["oos_intents"] = labels + ([oos_label] if oos_label not in labels else [])
    path = workdir / "config.yml"
    write_yaml(content, path)
    return str(path)


def _calibration_report(model_path: str) -> dict | None:
    """Our classifier's out-of-fold report, read from the model archive (None for other classifiers)."""
    with tarfile.open(model_path) as archive:
        for member in archive.getmembers():
            if member.name.endswith("intent_model.json"):
                return json.load(archive.extractfile(member)).get("report")
    return None


async def _predict(model_path: str, texts: list[str]) -> tuple[list[dict], list[float]]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    await agent.parse_message("warm up")
    predictions, latencies = [], []
    from tqdm import tqdm

    for text in tqdm(texts, desc="predicting", unit="msg", file=sys.stderr, mininterval=2.0):
        started = time.perf_counter()
        parsed = await agent.parse_message(text)
        latencies.append((time.perf_counter() - started) * 1000.0)
        intent = parsed.get("intent") or {}
        ranking = [r for r in parsed.get("intent_ranking") or [] if r.get("name") != FALLBACK]
        top = ranking[0] if ranking else intent
        predictions.append({
            "intent": intent.get("name"),
            "confidence": float(intent.get("confidence") or 0.0),
            "top1": top.get("name"),
            "top1_confidence": float(top.get("confidence") or 0.0),
            # our classifier's out-of-scope detector (None for other classifiers)
            "oos_score": (parsed.get("out_of_scope") or {}).get("score"),
            "oos_threshold": (parsed.get("out_of_scope") or {}).get("threshold"),
            # the head of the ranking, as the action server reads it ("did you mean", actions/knowledge.py)
            "intent_ranking": [{"name": r.get("name"), "confidence": float(r.get("confidence") or 0.0)}
                               for r in (parsed.get("intent_ranking") or [])[:4]],
        })
    return predictions, latencies


def run(job: dict) -> dict:
    workdir = Path(job["workdir"])
    workdir.mkdir(parents=True, exist_ok=True)
    import rasa
    from rasa.model_training import train_nlu

    config = _job_config(job["config"], job.get("oos_label"), job.get("classifier_options"), workdir)
    train_file = _training_file(job, workdir)
    started = time.perf_counter()
    model_path = train_nlu(config=config, nlu_data=train_file, output=str(workdir / "models"), fixed_model_name="eval")
    train_seconds = time.perf_counter() - started
    if not model_path:
        raise RuntimeError("Rasa did not produce a model; see its messages above.")
    predictions, latencies = asyncio.run(_predict(model_path, job["test_texts"]))
    return {
        "train_seconds": round(train_seconds, 1),
        "predictions": predictions,
        "latencies_ms": latencies,
        "calibration": _calibration_report(model_path),
        "rasa_version": rasa.__version__,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m nlu.eval_runner JOB.json RESULT.json", file=sys.stderr)
        return 2
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    os.chdir(job["workdir"])  # Rasa writes .rasa/ and caches relative to the working directory
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.INFO)  # Rasa's "training component X" lines are the progress
    configure_structlog(logging.INFO)  # without it every parsed message is logged at debug level
    result = run(job)
    Path(argv[1]).write_text(json.dumps(result), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
