"""The model registry on a real SQLite file and a real PostgreSQL database: promote, roll back, refuse."""

from __future__ import annotations

import json
import threading

import pytest

from finetune.errors import ModelNotFound
from finetune.registry import Registry


def model_dir(tmp_path, version: str):
    d = tmp_path / "models" / version
    d.mkdir(parents=True)
    (d / "manifest.json").write_text(json.dumps({"kind": "responses", "version": version}))
    return d


@pytest.mark.postgres
def test_promote_and_rollback_walk_through_history(db_url, tmp_path):
    reg = Registry.open(db_url)
    for v in ("v1", "v2", "v3"):
        reg.register("responses", v, model_dir(tmp_path, v), {"heldout": {"recall@1": 0.5}}, "fp-" + v)
    assert reg.serving("responses") is None
    reg.promote("responses", "v1")
    reg.promote("responses", "v2")
    reg.promote("responses", "v3")
    status = {m["version"]: m["status"] for m in reg.list("responses")}
    assert status == {"v1": "retired", "v2": "retired", "v3": "serving"}

    assert reg.rollback("responses")["version"] == "v2"
    assert reg.rollback("responses")["version"] == "v1"  # v3 and v2 are rejected now: no ping-pong
    status = {m["version"]: m["status"] for m in reg.list("responses")}
    assert status == {"v1": "serving", "v2": "rejected", "v3": "rejected"}
    assert "rolled back to v1" in reg.get("responses", "v2")["note"]
    with pytest.raises(ModelNotFound, match="only responses model"):
        reg.rollback("responses")
    assert reg.serving_pointer("responses") == ("v1", str((tmp_path / "models" / "v1").resolve()))
    reg.close()


@pytest.mark.postgres
def test_refusals_say_what_to_do(db_url, tmp_path):
    reg = Registry.open(db_url)
    with pytest.raises(ModelNotFound, match="nothing to roll back"):
        reg.rollback("responses")
    with pytest.raises(ModelNotFound, match="models list"):
        reg.promote("responses", "nope")
    gone = model_dir(tmp_path, "gone")
    reg.register("responses", "gone", gone, {}, "fp")
    (gone / "manifest.json").unlink()
    with pytest.raises(ModelNotFound, match="directory"):
        reg.promote("responses", "gone")
    reg.close()


@pytest.mark.postgres
def test_concurrent_promotions_leave_exactly_one_serving(postgres_url, tmp_path):
    reg = Registry.open(postgres_url)
    versions = [f"c{i}" for i in range(6)]
    for v in versions:
        reg.register("responses", v, model_dir(tmp_path, v), {}, "fp")
    barrier = threading.Barrier(len(versions))
    errors = []

    def promote(v):
        barrier.wait()
        try:
            Registry(reg.db).promote("responses", v)
        except Exception as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert not errors
    assert sum(m["status"] == "serving" for m in reg.list("responses")) == 1
    reg.close()


@pytest.mark.slow
def test_models_cli_lists_promotes_and_rolls_back(tmp_path):
    import subprocess

    from tests.support import ROOT

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    reg = Registry.open(url)
    for v in ("m1", "m2"):
        reg.register("responses", v, model_dir(tmp_path, v), {"heldout": {"recall@1": 0.61}}, "fp")
    reg.close()
    env = {"DATABASE_URL": url, "SUPPORTBOT_VAR_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(ROOT / ".venv/bin/supportbot"), "models", *args], capture_output=True, text=True,
                              env=env, cwd=ROOT, timeout=120)

    assert json.loads(cli("promote", "m1").stdout)["status"] == "serving"
    assert json.loads(cli("promote", "m2").stdout)["status"] == "serving"
    assert json.loads(cli("rollback").stdout)["version"] == "m1"
    listing = cli("list").stdout.splitlines()
    assert [line.split()[1:3] for line in listing] == [["m1", "serving"], ["m2", "rejected"]]
    assert "recall@1=0.61" in listing[0]
    refused = cli("promote", "missing")
    assert refused.returncode == 1 and "supportbot models list" in refused.stderr
