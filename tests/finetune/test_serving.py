"""The response selector: answers from the serving model and swaps in a newly promoted one under
concurrent requests, without a restart and without a failed or mixed request."""

from __future__ import annotations

import threading

import pytest

from core.settings import Settings, default_encoder_path
from finetune.pairs import response_bank
from finetune.registry import Registry
from finetune.response_model import build_base_model
from finetune.serving import ResponseSelector
from tests.support import wait_until

BANK_A = ["Hello, how can I help?", "Your card will arrive within 5 working days.", "Thank you and goodbye."]
BANK_B = ["Hi there! What can I do for you today?", "I have frozen your card [CARD] for you.",
          "Is there anything else that I can do for you?", "Goodbye, have a nice day."]


def make_model(root, version: str, replies: list[str], onnx_dir):
    bank = response_bank([{"reply": r} for r in replies])
    return build_base_model(root / version, default_encoder_path(), bank,
                            {"kind": "responses", "version": version, "context_turns": 3}, faiss_device="cpu",
                            reuse_onnx=onnx_dir)


@pytest.fixture(scope="module")
def models(tmp_path_factory, onnx_dir):
    """Base models over the session's ONNX export of the shipped encoder (served with onnxruntime)."""
    root = tmp_path_factory.mktemp("models")
    return {"A": make_model(root, "A", BANK_A, onnx_dir), "B": make_model(root, "B", BANK_B, onnx_dir),
            "broken": make_model(root, "broken", BANK_B, onnx_dir)}


def settings_for(tmp_path, url: str, reload_s: float = 0.1) -> Settings:
    return Settings(var_dir=tmp_path, database_url=url, response_reload_s=reload_s, faiss_device="cpu")


def test_no_serving_model_means_none_then_a_promoted_one_answers(tmp_path, models):
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    reg = Registry.open(url)
    selector = ResponseSelector(settings_for(tmp_path, url, reload_s=0.0)).load()
    assert selector.select([{"speaker": "customer", "text": "hi"}]) is None
    reg.register("responses", "A", models["A"], {}, "fp")
    reg.promote("responses", "A")
    assert selector.refresh() is True
    assert selector.encoder_runtime == "onnx"
    out = selector.select([{"speaker": "user", "text": "When will my new card arrive?"}], k=2)
    assert out["model_version"] == "A"
    assert out["reply"] == "Your card will arrive within 5 working days."
    assert [c["text"] for c in out["candidates"]][0] == out["reply"] and len(out["candidates"]) == 2
    assert out["score"] == out["candidates"][0]["score"] > out["candidates"][1]["score"]
    with pytest.raises(TypeError, match="speaker"):
        selector.select("hello")  # not a list of turns


def test_hot_reload_under_concurrent_requests(tmp_path, models):
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    reg = Registry.open(url)
    for v in ("A", "B"):
        reg.register("responses", v, models[v], {}, "fp")
    reg.promote("responses", "A")
    selector = ResponseSelector(settings_for(tmp_path, url)).load()
    banks = {"A": set(BANK_A), "B": set(BANK_B)}
    stop = threading.Event()
    seen: dict[int, list[str]] = {}
    failures: list[object] = []
    questions = ["hello", "where is my card?", "I lost my card", "thanks, bye"]

    def client(n: int) -> None:
        seen[n] = []
        i = 0
        while not stop.is_set():
            try:
                out = selector.select([{"speaker": "customer", "text": questions[i % len(questions)]}], k=3)
                if out is None or out["reply"] not in banks[out["model_version"]]:
                    failures.append(out)  # dropped, or a reply from one model labelled as the other
                else:
                    seen[n].append(out["model_version"])
            except Exception as exc:  # noqa: BLE001 - every failure is collected and asserted
                failures.append(exc)
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    [t.start() for t in threads]
    try:
        wait_until(lambda: len(seen) == len(threads) and all(len(v) >= 3 for v in list(seen.values())),
                   what="every client answered by model A")
        reg.promote("responses", "B")
        wait_until(lambda: all(v and v[-1] == "B" for v in list(seen.values())), what="every client on model B")
        after = {n: len(v) for n, v in list(seen.items())}
        wait_until(lambda: all(len(seen[n]) >= after[n] + 3 for n in after), what="more answers after the swap")
    finally:
        stop.set()
        [t.join() for t in threads]
    assert not failures, failures[:3]
    for versions in seen.values():
        assert versions[0] == "A" and versions[-1] == "B"
        switch = versions.index("B")
        assert set(versions[switch:]) == {"B"}  # once swapped, never back to the old model
    assert sum(len(v) for v in seen.values()) > 30


def test_a_broken_promotion_or_dead_registry_keeps_the_old_model_serving(tmp_path, models, caplog):
    url = f"sqlite:///{tmp_path / 'reg.db'}"
    reg = Registry.open(url)
    for v in ("A", "broken"):
        reg.register("responses", v, models[v], {}, "fp")
    reg.promote("responses", "A")
    selector = ResponseSelector(settings_for(tmp_path, url, reload_s=0.0)).load()
    (models["broken"] / "responses.jsonl").write_text("{not json\n")
    reg.promote("responses", "broken")
    assert selector.refresh() is False
    assert "cannot load response model broken" in caplog.text
    assert selector.select([{"speaker": "customer", "text": "hi"}])["model_version"] == "A"



@pytest.mark.postgres
def test_the_database_going_away_keeps_the_old_model_serving(postgres_url, tmp_path, models, caplog):
    import psycopg

    from tests.conftest import POSTGRES_ADMIN_URL

    reg = Registry.open(postgres_url)
    reg.register("responses", "A", models["A"], {}, "fp")
    reg.promote("responses", "A")
    reg.close()
    selector = ResponseSelector(settings_for(tmp_path, postgres_url, reload_s=0.0)).load()
    selector.registry.close()
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{postgres_url.rsplit("/", 1)[1]}" WITH (FORCE)')
    assert selector.refresh() is False
    assert selector.select([{"speaker": "customer", "text": "hi"}])["model_version"] == "A"
    assert "registry unreachable" in caplog.text
