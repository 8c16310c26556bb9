"""VectorIndex against exact FAISS search: recall, persistence, updates, deletes and filters."""

from __future__ import annotations

import numpy as np
import pytest

from bench.index import clustered_vectors, recall_at_k
from retrieval.errors import IndexCorrupt, RetrievalError
from retrieval.vector_index import VectorIndex, choose_factory, gpu_available

DIM = 64
N = 6000
IDS = np.arange(N, dtype=np.int64) * 7 + 11  # sparse, non-sequential ids like real passage ids

# factory -> minimum recall@10 against Flat on the same data (with the search breadth below)
APPROXIMATE = {
    "HNSW32,Flat": 0.95,
    "IVF64,Flat": 0.9,
    "IVF64,SQ8": 0.9,
    "IVF64,PQ16np": 0.6,  # 4-byte sub-vectors: the memory-saving type trades recall
}


@pytest.fixture(scope="module")
def data():
    xb = clustered_vectors(N, DIM, seed=1, clusters=64, latent_dim=24)
    xq = clustered_vectors(100, DIM, seed=2, clusters=64, latent_dim=24)
    return xb, xq


@pytest.fixture(scope="module")
def exact(data):
    xb, xq = data
    flat = VectorIndex(DIM, "Flat", device="cpu")
    flat.add(IDS, xb)
    return flat.search(xq, 10)


def build(factory: str, xb: np.ndarray) -> VectorIndex:
    index = VectorIndex(DIM, factory, device="cpu", ef_search=64, nprobe=16)
    index.add(IDS, xb)
    return index


@pytest.fixture(scope="module")
def built(data):
    return {factory: build(factory, data[0]) for factory in ["Flat", *APPROXIMATE]}


@pytest.mark.parametrize("factory", list(APPROXIMATE))
def test_approximate_index_reaches_minimum_recall_against_flat(built, data, exact, factory):
    _, ids = built[factory].search(data[1], 10)
    assert recall_at_k(ids, exact[1]) >= APPROXIMATE[factory]


def test_flat_is_exact_brute_force(built, data):
    xb, xq = data
    scores, ids = built["Flat"].search(xq, 5)
    brute = xq @ xb.T
    order = np.argsort(-brute, axis=1)[:, :5]
    assert (ids == IDS[order]).all()
    assert np.allclose(scores, np.take_along_axis(brute, order, axis=1), atol=1e-5)


@pytest.mark.parametrize("factory", ["Flat", *APPROXIMATE])
def test_save_then_load_gives_identical_results(built, data, tmp_path, factory):
    index = built[factory]
    index.save(tmp_path / "ix")
    loaded = VectorIndex.load(tmp_path / "ix", device="cpu")
    assert loaded.factory == factory and loaded.ntotal == index.ntotal
    a, b = index.search(data[1], 10), loaded.search(data[1], 10)
    assert (a[1] == b[1]).all() and np.array_equal(a[0], b[0])


@pytest.mark.parametrize("factory", ["Flat", "HNSW32,Flat", "IVF64,Flat"])
def test_remove_and_upsert_are_reflected_in_search(data, factory):
    xb, xq = data
    index = build(factory, xb)
    _, before = index.search(xq[:20], 5)
    gone = np.unique(before[:, 0])
    assert index.remove(gone) == gone.size
    assert index.remove(gone) == 0  # already gone: nothing to do
    _, after = index.search(xq[:20], 10)
    assert not np.isin(after, gone).any()
    assert index.ntotal == N - gone.size

    # upsert: an id's vector replaced by the query itself is now that query's best hit
    target = int(IDS[100])
    index.upsert([target], xq[:1])
    scores, ids = index.search(xq[:1], 1)
    assert ids[0, 0] == target and scores[0, 0] == pytest.approx(1.0, abs=1e-4)

    # a removed id can come back
    index.add(gone[:1], xq[1:2])
    assert index.search(xq[1:2], 1)[1][0, 0] == gone[0]


def test_hnsw_tombstones_survive_save_load_and_compaction(data, tmp_path):
    xb, xq = data
    index = build("HNSW32,Flat", xb)
    gone = IDS[:3000]
    index.remove(gone)
    assert index.tombstones == 3000
    index.save(tmp_path / "h")
    loaded = VectorIndex.load(tmp_path / "h", device="cpu")
    assert not np.isin(loaded.search(xq, 10)[1], gone).any()
    loaded.compact()
    assert loaded.tombstones == 0 and loaded.ntotal == N - 3000
    assert not np.isin(loaded.search(xq, 10)[1], gone).any()


@pytest.mark.parametrize("factory", ["Flat", "HNSW32,Flat", "IVF64,Flat"])
def test_allowed_ids_restrict_results(built, data, factory):
    allowed = IDS[::50]
    _, ids = built[factory].search(data[1][:10], 5, allowed_ids=allowed)
    assert np.isin(ids[ids >= 0], allowed).all()
    assert (ids[:, 0] >= 0).all()


def test_bad_input_is_refused_clearly(built, data):
    flat = built["Flat"]
    with pytest.raises(ValueError, match="duplicate ids"):
        flat.add(IDS[:2], data[0][:2])
    with pytest.raises(ValueError, match="shape"):
        flat.add([1], np.zeros((1, DIM + 1), np.float32))
    with pytest.raises(ValueError, match="columns"):
        flat.search(np.zeros((1, 3), np.float32), 5)
    with pytest.raises(RetrievalError, match="factory string"):
        VectorIndex(DIM, "NoSuchIndex")
    with pytest.raises(RetrievalError, match="training vectors"):
        VectorIndex(DIM, "IVF256,Flat").add(IDS[:10], data[0][:10])


def test_empty_index_and_k_larger_than_corpus(data):
    index = VectorIndex(DIM, "Flat")
    scores, ids = index.search(data[1][:2], 5)
    assert (ids == -1).all()
    index.add([5, 6], data[0][:2])
    scores, ids = index.search(data[1][:1], 5)
    assert sorted(ids[0, :2]) == [5, 6] and (ids[0, 2:] == -1).all()


def test_corrupt_directory_is_reported(built, tmp_path):
    built["Flat"].save(tmp_path / "c")
    (tmp_path / "c" / "index.faiss").write_bytes(b"not a faiss index")
    with pytest.raises(IndexCorrupt, match="rebuild"):
        VectorIndex.load(tmp_path / "c", device="cpu")


def test_index_type_follows_corpus_size():
    assert choose_factory(1_000, 384) == "Flat"
    assert choose_factory(200_000, 384) == "HNSW32,Flat"
    assert choose_factory(5_000_000, 384, memory_budget_mb=4096).endswith(",SQ8")
    assert choose_factory(50_000_000, 384, memory_budget_mb=4096).endswith(",PQ48np")
    assert choose_factory(60_000, 384, memory_budget_mb=1) == "IVF1024,PQ48np"
    assert choose_factory(8_000, 384, memory_budget_mb=1, flat_max=100) == "HNSW32,Flat"  # too few to train IVF


def test_gpu_device_matches_cpu_or_is_refused_without_one(built, data):
    """On a CUDA machine with faiss-gpu the GPU copy gives the CPU's results; elsewhere
    device='gpu' is refused with what to install (the CPU path above is the default)."""
    xb, xq = data
    index = VectorIndex(DIM, "Flat", device="gpu")
    index.add(IDS, xb)
    if gpu_available():
        gpu_ids = index.search(xq, 10)[1]
        assert recall_at_k(gpu_ids, built["Flat"].search(xq, 10)[1]) >= 0.999
    else:
        with pytest.raises(RetrievalError, match="faiss-gpu"):
            index.search(xq, 10)
