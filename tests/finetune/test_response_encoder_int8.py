"""The response model's int8 ONNX copy: written and recorded at build, close to float32 and picking the
same replies on a small bank, served when the setting asks for it, and refused loudly (float32 answers)
when it is missing, damaged or not the one the model recorded.

Real parts: the shipped MiniLM sentence-transformer, the real exporter and quantiser (nlu.export,
nlu.quantize), onnxruntime, a real FAISS bank, a real SQLite registry.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil

import pytest
from click.testing import CliRunner

from core.settings import Settings
from finetune.registry import Registry
from finetune.response_model import ResponseModel
from finetune.serving import ResponseSelector
from tests.finetune.test_response_encoder import CONTEXTS, base_model, cosines


@pytest.fixture(scope="module")
def int8_model(tmp_path_factory, onnx_dir):
    return base_model(tmp_path_factory.mktemp("int8") / "base", reuse_onnx=onnx_dir)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_build_writes_a_recorded_int8_copy_that_answers_as_float32_does(int8_model, onnx_dir):
    manifest = json.loads((int8_model / "manifest.json").read_text())
    entry = manifest["encoder_onnx_int8"]
    graph = int8_model / "encoder-onnx-int8" / "model.onnx"
    assert entry["dir"] == "encoder-onnx-int8" and entry["onnx_sha256"] == sha256(graph)
    assert entry["quantized_from"] == sha256(onnx_dir / "model.onnx")  # the float32 graph the model serves
    assert entry["encoder_fingerprint"] == manifest["encoder_onnx"]["encoder_fingerprint"]
    assert graph.stat().st_size < (onnx_dir / "model.onnx").stat().st_size / 3
    int8 = ResponseModel(int8_model, encoder_precision="int8").load()
    fp32 = ResponseModel(int8_model).load()
    assert (int8.runtime, int8.runtime_reason, fp32.runtime) == ("onnx-int8", None, "onnx")
    agreement = cosines(int8.encode(CONTEXTS), fp32.encode(CONTEXTS))
    # per-channel int8 moves MiniLM's vectors by a few hundredths at worst on short texts (nlu/quantize.py)
    assert agreement.min() >= 0.95 and agreement.mean() >= 0.98, agreement
    for context in CONTEXTS:
        a, b = int8.select([context], k=2)[0], fp32.select([context], k=2)[0]
        assert a[0]["text"] == b[0]["text"], context
        assert abs(a[0]["score"] - b[0]["score"]) < 0.05


@pytest.mark.parametrize("damage", ["missing", "graph", "replaced", "unrecorded"])
def test_an_unusable_int8_copy_falls_back_to_float32_loudly(tmp_path, int8_model, caplog, damage):
    model_dir = tmp_path / "model"
    shutil.copytree(int8_model, model_dir)
    copy = model_dir / "encoder-onnx-int8"
    if damage == "missing":
        shutil.rmtree(copy)
    elif damage == "graph":  # truncated on disk: the graph's checksum no longer matches
        data = (copy / "model.onnx").read_bytes()
        (copy / "model.onnx").write_bytes(data[: len(data) // 2])
    elif damage == "replaced":  # a consistent export, but not the int8 graph the model recorded at build
        export = json.loads((model_dir / "manifest.json").read_text())["encoder_onnx"]["dir"]
        shutil.copy2(f"{export}/model.onnx", copy / "model.onnx")
        inner = json.loads((copy / "manifest.json").read_text())
        (copy / "manifest.json").write_text(json.dumps({**inner, "onnx_sha256": sha256(copy / "model.onnx")}))
    else:  # a model built before int8 copies were made
        manifest = json.loads((model_dir / "manifest.json").read_text())
        del manifest["encoder_onnx_int8"]
        (model_dir / "manifest.json").write_text(json.dumps(manifest))
    with caplog.at_level(logging.WARNING, logger="finetune.response_encoder"):
        model = ResponseModel(model_dir, encoder_precision="int8").load()
    assert model.runtime == "onnx" and model.runtime_reason is None
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("although int8 was asked for" in m and "supportbot models quantize" in m for m in warned), warned
    fp32 = ResponseModel(int8_model).load()
    assert cosines(model.encode(CONTEXTS), fp32.encode(CONTEXTS)).min() >= 0.9999  # the float32 graph answers


def test_models_quantize_restores_the_copy_and_the_selector_serves_it(tmp_path, int8_model):
    from finetune.cli import models

    model_dir = tmp_path / "model"
    shutil.copytree(int8_model, model_dir)
    shutil.rmtree(model_dir / "encoder-onnx-int8")
    result = CliRunner().invoke(models, ["quantize", str(model_dir)])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["encoder_onnx_int8"]["onnx_sha256"] == sha256(
        model_dir / "encoder-onnx-int8" / "model.onnx")

    url = f"sqlite:///{tmp_path / 'reg.db'}"
    registry = Registry.open(url)
    registry.register("responses", "q", model_dir, {}, "fp")
    registry.promote("responses", "q")
    settings = Settings(var_dir=tmp_path, database_url=url, faiss_device="cpu", response_encoder_precision="int8")
    selector = ResponseSelector(settings, registry=registry).load()
    assert selector.encoder_runtime == "onnx-int8"
    out = selector.select([{"speaker": "user", "text": "When will my new card arrive?"}], k=1)
    assert out["reply"] == "Your card will arrive within 5 working days."
    assert ResponseSelector(Settings(var_dir=tmp_path, database_url=url, faiss_device="cpu"),
                            registry=registry).load().encoder_runtime == "onnx"  # float32 stays the default


def test_the_precision_setting_is_typed(monkeypatch):
    monkeypatch.setenv("SUPPORTBOT_RESPONSE_ENCODER_PRECISION", "int8")
    assert Settings().response_encoder_precision == "int8"
    monkeypatch.setenv("SUPPORTBOT_RESPONSE_ENCODER_PRECISION", "int4")
    with pytest.raises(ValueError, match="float32"):
        Settings()
