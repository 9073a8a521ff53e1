"""FeatureStore: round-trips, merges, provenance, schema versions and errors."""

import h5py
import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from store import (
    FeatureShapeError, FeatureStore, NotAStoreError, ProvenanceError, ReadOnlyError,
    SCHEMA_VERSION, SchemaVersionError, StoreLockedError, UnknownFeatureError, UnknownIdsError,
)
from store.ingest import ingest

PROV = {"encoder": "test", "sha256": "0" * 64, "preprocessing": "none"}


def make_store(path, n=30):
    ids = [f"m{i}" for i in range(n)]
    with FeatureStore.open(path, "a") as s:
        s.replace_movies(
            {"id": ids, "title": ids, "overview": ["o"] * n, "poster": [""] * n, "poster_sha256": [""] * n,
             "year": [1950 + i for i in range(n)], "decade": [(1950 + i) // 10 * 10 for i in range(n)]},
            np.eye(n, 3, dtype=np.uint8), ["A", "B", "C"])
    return ids


@pytest.fixture
def store_path(tmp_path):
    path = tmp_path / "s.h5"
    make_store(path)
    return path


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_write_then_lookup_round_trips_any_order_with_repeats(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("h") / "s.h5"
    ids = make_store(path, n=20)
    dim = data.draw(st.integers(1, 8))
    written = data.draw(st.lists(st.sampled_from(ids), min_size=1, max_size=20, unique=True))
    matrix = np.random.default_rng(len(written)).normal(size=(len(written), dim)).astype(np.float32)
    sparse = data.draw(st.booleans())
    query = data.draw(st.lists(st.sampled_from(written), min_size=0, max_size=40))
    with FeatureStore.open(path, "a") as s:
        s.write_features("t/x", written, sp.csr_matrix(matrix) if sparse else matrix, PROV)
    expected = matrix[[written.index(q) for q in query]]
    with FeatureStore.open(path) as s:
        got = s.lookup(query, feature="t/x")
    got = got.toarray() if sparse else got
    assert got.shape == (len(query), dim)
    np.testing.assert_array_equal(got, expected)


def test_rewrite_merges_rows_and_keeps_others(store_path):
    with FeatureStore.open(store_path, "a") as s:
        s.write_features("poster/p", ["m1", "m2"], np.ones((2, 4)), PROV)
        s.write_features("poster/p", ["m2", "m3"], np.full((2, 4), 2.0), PROV)
    with FeatureStore.open(store_path) as s:
        assert sorted(s.feature_ids("poster/p")) == ["m1", "m2", "m3"]
        np.testing.assert_array_equal(s.lookup(["m1", "m2", "m3"], "poster/p")[:, 0], [1, 2, 2])


def test_provenance_mismatch_is_refused(store_path):
    with FeatureStore.open(store_path, "a") as s:
        s.write_features("poster/p", ["m1"], np.ones((1, 4)), PROV)
        with pytest.raises(ProvenanceError, match="new feature name"):
            s.write_features("poster/p", ["m2"], np.ones((1, 4)), dict(PROV, sha256="1" * 64))
        with pytest.raises(ProvenanceError, match="lacks"):
            s.write_features("poster/q", ["m2"], np.ones((1, 4)), {"encoder": "x"})
        with pytest.raises(FeatureShapeError):
            s.write_features("poster/p", ["m2"], np.ones((1, 5)), PROV)
        with pytest.raises(FeatureShapeError):
            s.write_features("poster/r", ["m2"], np.array([[np.nan]]), PROV)
        with pytest.raises(UnknownIdsError):
            s.write_features("poster/r", ["nobody"], np.ones((1, 4)), PROV)
    with FeatureStore.open(store_path) as s:
        prov = s.provenance("poster/p")
        assert prov["sha256"] == PROV["sha256"] and prov["schema_version"] == SCHEMA_VERSION and "package_version" in prov


def test_unknown_ids_and_features_are_named(store_path):
    with FeatureStore.open(store_path, "a") as s:
        s.write_features("poster/p", ["m1"], np.ones((1, 4)), PROV)
    with FeatureStore.open(store_path) as s:
        with pytest.raises(UnknownIdsError) as err:
            s.lookup(["m1", "zz", "m2"], "poster/p")
        assert err.value.ids == ["zz", "m2"] and "zz" in str(err.value)
        with pytest.raises(UnknownFeatureError, match="poster/p"):
            s.lookup(["m1"], "poster/nope")
        with pytest.raises(ReadOnlyError):
            s.write_features("poster/q", ["m1"], np.ones((1, 4)), PROV)


def test_labels_decades_and_matrix(store_path):
    with FeatureStore.open(store_path, "a") as s:
        s.write_features("poster/p", s.ids(), np.arange(30 * 2).reshape(30, 2), PROV)
    with FeatureStore.open(store_path) as s:
        assert s.genres() == ["A", "B", "C"]
        np.testing.assert_array_equal(s.labels(["m2", "m0"]), [[0, 0, 1], [1, 0, 0]])
        assert s.decades() == [1950, 1960, 1970]
        ids, X = s.matrix("poster/p", decades=[1960])
        assert ids == [f"m{i}" for i in range(10, 20)] and X[0, 0] == 20


def test_not_a_store_and_schema_versions(tmp_path, store_path):
    garbage = tmp_path / "g.h5"
    garbage.write_bytes(b"not hdf5 at all")
    with pytest.raises(NotAStoreError, match="not a readable HDF5"):
        FeatureStore.open(garbage)
    with pytest.raises(NotAStoreError, match="does not exist"):
        FeatureStore.open(tmp_path / "missing.h5")
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as f:
        f["x"] = 1
    with pytest.raises(NotAStoreError, match="not a onesheet store"):
        FeatureStore.open(other)
    with h5py.File(store_path, "a") as f:
        f.attrs["schema_version"] = 99
    with pytest.raises(SchemaVersionError, match="upgrade onesheet"):
        FeatureStore.open(store_path)
    with h5py.File(store_path, "a") as f:
        f.attrs["schema_version"] = 0
    with pytest.raises(SchemaVersionError, match="rebuild"):
        FeatureStore.open(store_path)


def test_single_writer_lock(store_path):
    with FeatureStore.open(store_path, "a"):
        with pytest.raises(StoreLockedError):
            FeatureStore.open(store_path, "a")
        FeatureStore.open(store_path).close()  # readers are never blocked


def test_batch_is_one_commit_and_rolls_back(store_path):
    with FeatureStore.open(store_path, "a") as s:
        with pytest.raises(RuntimeError):
            with s.batch():
                s.write_features("poster/p", ["m1"], np.ones((1, 4)), PROV)
                raise RuntimeError("boom")
        assert s.features() == []
        with s.batch():
            s.write_features("poster/p", ["m1"], np.ones((1, 4)), PROV)
            s.write_features("overview/q", ["m1"], sp.csr_matrix(np.ones((1, 3))), PROV)
        assert s.features() == ["overview/q", "poster/p"]


def test_verify_finds_corruption(store_path):
    with FeatureStore.open(store_path, "a") as s:
        s.write_features("poster/p", ["m1", "m2"], np.ones((2, 4)), PROV)
    with h5py.File(store_path, "a") as f:
        f["features/poster/p/matrix"][0, 0] = np.nan
    with FeatureStore.open(store_path) as s:
        assert any("NaN" in p for p in s.verify())


def test_reingest_updates_labels_and_invalidates_only_changed_inputs(tiny_catalog, tmp_path):
    store_path = tmp_path / "s.h5"
    first = ingest(tiny_catalog, store_path)
    assert first.added == 24
    with FeatureStore.open(store_path, "a") as s:
        ids = s.ids()
        s.write_features("overview/x", ids, np.ones((24, 2)), PROV)
        s.write_features("poster/x", ids, np.ones((24, 2)), PROV)
    lines = tiny_catalog.read_text().splitlines()
    fields = lines[1].split(",")
    fields[3] = "Western"           # label change only
    lines[1] = ",".join(fields)
    fields = lines[2].split(",")
    fields[4] = "a brand new overview"  # overview change
    lines[2] = ",".join(fields)
    lines.append("2000,New movie,2011,Comedy,fresh words,posters/0.jpg")
    tiny_catalog.write_text("\n".join(lines) + "\n")
    second = ingest(tiny_catalog, store_path)
    assert (second.added, second.updated, second.unchanged) == (1, 2, 22)
    assert second.invalidated == {"overview/x": 1}
    with FeatureStore.open(store_path) as s:
        assert len(s.ids()) == 25
        assert s.labels(["1000"])[0, s.genres().index("Western")] == 1
        assert "1001" not in s.feature_ids("overview/x") and len(s.feature_ids("poster/x")) == 24
        assert len(s.ingest_reports()) == 2


def test_contains_asks_the_id_hashes_not_a_list_of_every_id(store_path, monkeypatch):
    with FeatureStore.open(store_path, "a") as s:
        s.write_features("poster/p", ["m1", "m2", "m3"], np.ones((3, 2)), PROV)
        s.write_features("poster/p", ["m4"], np.ones((1, 2)), PROV)
        s.delete_rows("poster/p", ["m2"])
    with FeatureStore.open(store_path) as s:
        monkeypatch.setattr(FeatureStore, "feature_ids", lambda *a: pytest.fail("listed every id"))
        assert s.contains("poster/p", ["m4", "m2", "m1", "nope", "m3", "m1"]).tolist() == \
            [True, False, True, False, True, True]
        assert s.contains("poster/none", ["m1"]).tolist() == [False]
        assert s.contains("poster/p", []).tolist() == []


def test_featurize_resume_check_is_answered_by_contains(store_path, monkeypatch):
    from featurize.pipeline import _missing
    with FeatureStore.open(store_path, "a") as s:
        s.write_features("poster/p", ["m1", "m3"], np.ones((2, 2)), PROV)
        monkeypatch.setattr(FeatureStore, "feature_ids", lambda *a: pytest.fail("listed every id"))
        assert _missing(s, "poster/p", ["m0", "m1", "m2", "m3"]) == (["m0", "m2"], 2)
        assert _missing(s, "overview/none", ["m0", "m1"]) == (["m0", "m1"], 0)
