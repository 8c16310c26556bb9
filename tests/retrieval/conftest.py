"""Fixtures for the retrieval tests: the real MiniLM encoder, small real models built from configs,
and a small knowledge base in every supported format."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.paths import datasets_dir
from core.settings import ROOT, Settings, default_encoder_path

DATASETS = datasets_dir()
ABCD_HANDBOOK = DATASETS / "abcd" / "guidelines.json"
KB_ARTICLES = ["card_arrival", "lost_or_stolen_card", "exchange_rate", "terminate_account"]


def make_settings(tmp_path: Path, **overrides) -> Settings:
    """Settings isolated from the developer's environment and var/ directory."""
    values = {"var_dir": tmp_path / "var", "kb_dir": tmp_path / "kb", "faiss_device": "cpu",
              "encoder_device": "cpu", "retrieval_mode": "hybrid", "reranker_model": "", "index_factory": ""}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def encoder():
    """The shipped all-MiniLM-L6-v2, loaded once for the session."""
    from retrieval.encoder import Encoder

    return Encoder(default_encoder_path()).load()


def tiny_bert(**config):
    """MiniLM's tokenizer and a one-layer, 32-wide BERT config (random weights, no download)."""
    from transformers import BertConfig, BertTokenizerFast

    from core.settings import default_encoder_path

    tokenizer = BertTokenizerFast.from_pretrained(default_encoder_path())
    return tokenizer, BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                                 num_attention_heads=2, intermediate_size=64, **config)


@pytest.fixture(scope="session")
def tiny_encoder_dir(tmp_path_factory) -> Path:
    """A real (randomly initialised) 32-dimensional sentence-transformer: another encoder."""
    from sentence_transformers import SentenceTransformer, models
    from transformers import BertModel

    folder = tmp_path_factory.mktemp("tiny-encoder")
    tokenizer, config = tiny_bert(max_position_embeddings=128)
    BertModel(config).save_pretrained(folder / "bert")
    tokenizer.save_pretrained(folder / "bert")
    word = models.Transformer(str(folder / "bert"), max_seq_length=128)
    model = SentenceTransformer(modules=[word, models.Pooling(32, "mean")])
    model.save(str(folder / "st"))
    return folder / "st"


@pytest.fixture(scope="session")
def tiny_reranker_dir(tmp_path_factory) -> Path:
    """A real (randomly initialised) one-layer cross-encoder."""
    from transformers import BertForSequenceClassification

    folder = tmp_path_factory.mktemp("tiny-reranker")
    tokenizer, config = tiny_bert(num_labels=1)
    BertForSequenceClassification(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


HTML = """<html><head><title>Travel notice</title><link rel="canonical" href="https://help.example/travel">
<script>var tracking = "do not index me";</script></head>
<body><nav>Home | Cards</nav><h1>Travel notice</h1>
<p>You do not need to tell us before you travel abroad. Your card works in 150 countries.</p>
<h2>Cash abroad</h2><ul><li>Withdraw up to 200 GBP a month free of charge.</li>
<li>After that a 2% fee applies.</li></ul></body></html>"""


def write_kb(folder: Path) -> Path:
    """One file per format (plus two real demo-KB articles); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in KB_ARTICLES[:2]:
        shutil.copy(ROOT / "data" / "kb" / f"{name}.md", folder)
    (folder / "opening-hours.txt").write_text(
        "Opening hours\n\nOur phone line answers from 8am to 8pm, Monday to Saturday.\n")
    (folder / "travel.html").write_text(HTML)
    (folder / "fees.json").write_text(json.dumps([
        {"id": "fee-wire", "title": "International wire fee", "text": "Sending an international wire costs 5 EUR.",
         "url": "https://help.example/fees/wire", "category": "Fees"},
        {"id": "fee-atm", "title": "ATM fee", "text": "Withdrawals at partner ATMs are free of charge.",
         "url": "https://help.example/fees/atm", "category": "Fees"}]))
    (folder / "faq.jsonl").write_text(
        json.dumps({"id": "faq-pin", "title": "Forgotten PIN", "text": "You can view your PIN in the app under "
                    "Card settings after confirming your passcode.", "url": "https://help.example/pin"}) + "\n"
        + json.dumps({"id": "faq-xq7", "title": "Error XQ7", "text": "Error XQ7 means the merchant terminal is "
                      "offline; try again later.", "url": "https://help.example/xq7"}) + "\n")
    (folder / "limits.csv").write_text(
        "id,title,text,url\nlim-daily,Daily limit,\"Your daily spending limit is 5,000 GBP; raise it in the app.\","
        "https://help.example/limits\n")
    return folder


@pytest.fixture
def kb_folder(tmp_path) -> Path:
    return write_kb(tmp_path / "kb")


@pytest.fixture(scope="session")
def shared_index(tmp_path_factory, encoder):
    """One index over every format, a broken file and the ABCD handbook, built once and only read.

    Returns (index_dir, settings, ingest report, kb folder)."""
    from retrieval.ingest import ingest_paths

    root = tmp_path_factory.mktemp("shared")
    folder = write_kb(root / "kb")
    (folder / "broken.json").write_text('[{"id": "half", "text": "unterminated')
    settings = make_settings(root)
    report = ingest_paths([folder, ABCD_HANDBOOK], root / "index", settings=settings, encoder=encoder)
    return root / "index", settings, report, folder
