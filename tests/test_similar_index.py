"""Similar movies: exact search for small features, the faiss ANN index (re-ranked exactly) for large ones."""

import os

import h5py
import numpy as np
import pytest

from store import FeatureStore, similar
from tests.test_store import PROV

faiss = pytest.importorskip("faiss")


def clustered(n, dim, seed=0):
    """Vectors around 40 centres with low-rank spread: neighbours that mean something."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, dim)) * 3
    basis = rng.normal(size=(6, dim))
    return (centres[rng.integers(0, 40, n)] + rng.normal(size=(n, 6)) @ basis
            + 0.05 * rng.normal(size=(n, dim))).astype(np.float32)


@pytest.fixture
def big_store(tmp_path, monkeypatch):
    monkeypatch.setattr(similar, "EXACT_MAX_VALUES", 1000 * 48)
    n, path = 5000, tmp_path / "s.h5"
    ids = [f"t{i}" for i in range(n + 100)]
    X = clustered(n + 100, 48)
    with FeatureStore.open(path, "a") as s:
        s.replace_movies({"id": ids, "title": ids, "overview": [""] * len(ids), "poster": [""] * len(ids),
                          "poster_sha256": [""] * len(ids), "year": [2000] * len(ids), "decade": [2000] * len(ids)},
                         np.zeros((len(ids), 1), np.uint8), ["Drama"])
        s.write_features("poster/p", ids[:n], X[:n], PROV)
    return path, ids, X


def recall(index, exact, ids, k=10):
    hits = [len({m for m, _ in index.nearest(q, k)} & {m for m, _ in exact.nearest(q, k)}) / k for q in ids]
    return float(np.mean(hits))


def test_ann_matches_exact_search_and_is_saved_with_its_version(big_store):
    from store.ann import SimilarIndex, index_path
    path, ids, X = big_store
    with FeatureStore.open(path) as s:
        index = similar.similar_index(s, "poster/p")
        assert isinstance(index, SimilarIndex) and index.version == s.version
        exact = similar.CosineIndex.from_store(s, "poster/p")
        assert recall(index, exact, ids[:200:4]) >= 0.95
        top = s.similar("t7", "poster/p", k=5)
        assert len(top) == 5 and "t7" not in [m for m, _ in top] and top[0][1] >= top[-1][1]
        by_vector = index.nearest_vector(X[7], k=1)
        assert by_vector[0][0] == "t7" and by_vector[0][1] == pytest.approx(1.0, abs=1e-5)
        saved = index_path(s, "poster/p")
    with h5py.File(saved, "r") as f:      # its own format: versions and provenance, faiss bytes, no pickle
        assert f.attrs["format"] == "onesheet-ann-index" and f.attrs["feature"] == "poster/p"
        assert int(f.attrs["store_version"]) > 0 and f["faiss"].dtype == np.uint8


def test_ann_follows_new_versions_without_a_rebuild(big_store):
    path, ids, X = big_store
    with FeatureStore.open(path) as reader:
        index = similar.similar_index(reader, "poster/p")
        built = index.index.ntotal
        with FeatureStore.open(path, "a") as w:
            w.write_features("poster/p", ids[5000:5010], X[5000:5010], PROV)      # new movies
            w.write_features("poster/p", ["t1"], -X[1:2], PROV)                      # a changed poster
            w.compact()
        assert reader.refresh()
        again = similar.similar_index(reader, "poster/p")
        assert again is index and index.version == reader.version and index.index.ntotal == built + 10
        assert index.nearest_vector(X[5003], k=1)[0][0] == "t5003"
        assert index.nearest_vector(-X[1], k=1)[0][0] == "t1"
        assert all(m != "t1" for m, _ in index.nearest_vector(X[1], k=3))      # the old vector is gone
    with FeatureStore.open(path) as fresh:           # a new process loads the saved, current index
        loaded = similar.similar_index(fresh, "poster/p")
        assert loaded.version == fresh.version and loaded.index.ntotal == built + 10


def test_small_features_use_exact_search(tmp_path):
    path = tmp_path / "s.h5"
    ids = [f"m{i}" for i in range(30)]
    from tests.test_store import make_store
    make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ids, clustered(30, 8), PROV)
    with FeatureStore.open(path) as s:
        assert isinstance(similar.similar_index(s, "poster/p"), similar.CosineIndex)
        assert not [p for p in os.listdir(str(path) + ".d") if p.startswith("ann-")]
