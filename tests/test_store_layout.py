"""Schema v2: master + immutable pieces, snapshots, compaction and garbage collection, migration, symlinks."""

import os
import subprocess
import sys

import h5py
import numpy as np
import pytest
import scipy.sparse as sp

from store import FeatureStore, MigrationNeededError, UnknownIdsError, compaction
from store.migrate import migrate
from tests.test_store import PROV, make_store
from tests.v1_store import write_v1_store


def pieces(path):
    return sorted(os.listdir(str(path) + ".d"))


def test_commit_adds_a_segment_and_plain_h5py_reads_live_rows(tmp_path):
    path = tmp_path / "s.h5"
    make_store(path)
    with FeatureStore.open(path, "a") as s:
        v0 = s.version
        s.write_features("poster/p", ["m1", "m2", "m3"], np.array([[1.0, 1], [2, 2], [3, 3]]), PROV)
        s.write_features("poster/p", ["m2", "m4"], np.array([[20.0, 20], [4, 4]]), PROV)  # m2 superseded
        s.write_features("overview/w", ["m1", "m5"], sp.csr_matrix(np.array([[0, 1.0, 0], [2, 0, 0]])), PROV)
        assert s.version == v0 + 3
        assert s.feature_info("poster/p")["segments"] == 2 and s.feature_info("poster/p")["superseded_rows"] == 1
    assert sum(p.startswith("seg-") for p in pieces(path)) == 3
    with h5py.File(path, "r") as f:            # the README's recipe: no onesheet needed
        ids = [m.decode() for m in f["features/poster/p/ids"][()]]
        X = f["features/poster/p/matrix"][()]
        assert sorted(zip(ids, X[:, 0])) == [("m1", 1), ("m2", 20), ("m3", 3), ("m4", 4)]
        part = f["features/overview/w/parts/00000"]
        assert [m.decode() for m in part["ids"][()]] == ["m1", "m5"] and part["indptr"][()].tolist() == [0, 1, 2]
        assert f["movies/id"].shape == (30,) and f["labels/multi_hot"].shape == (30, 3)


def test_reader_keeps_its_version_until_refresh(tmp_path):
    path = tmp_path / "s.h5"
    make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ["m1"], np.ones((1, 2)), PROV)
    reader = FeatureStore.open(path)
    v = reader.version
    assert not reader.is_stale()
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ["m1", "m2"], np.full((2, 2), 7.0), PROV)
        s.compact()
    assert reader.is_stale() and reader.version == v
    np.testing.assert_array_equal(reader.lookup(["m1"], "poster/p"), [[1, 1]])   # old pieces are gone by name
    assert reader.feature_ids("poster/p") == ["m1"]
    assert reader.refresh() and reader.version > v and not reader.is_stale()
    np.testing.assert_array_equal(reader.lookup(["m1", "m2"], "poster/p"), np.full((2, 2), 7.0))
    assert not reader.refresh()
    reader.close()


WRITER = r"""
import sys, numpy as np
from store import FeatureStore
path, commits = sys.argv[1], int(sys.argv[2])
prov = {"encoder": "test", "sha256": "0" * 64, "preprocessing": "none"}
with FeatureStore.open(path, "a") as s:
    ids = s.ids()
    for c in range(commits):
        chosen = [ids[(c * 7 + j) % len(ids)] for j in range(5)]
        s.write_features("poster/p", chosen, np.full((5, 3), 100 + c, np.float32), prov)
        if c % 3 == 2:
            s.compact()
"""


def test_reader_opened_before_commits_of_another_process_returns_its_rows(tmp_path):
    path = tmp_path / "s.h5"
    ids = make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ids, np.arange(90, dtype=np.float32).reshape(30, 3), PROV)
    with FeatureStore.open(path) as reader:
        before = reader.lookup(ids, "poster/p")
        subprocess.run([sys.executable, "-c", WRITER, str(path), "12"], check=True)
        assert reader.is_stale()
        np.testing.assert_array_equal(reader.lookup(ids, "poster/p"), before)
        np.testing.assert_array_equal(reader.matrix("poster/p")[1], before)
        reader.refresh()
        after = reader.lookup(ids, "poster/p")
    assert not np.array_equal(after, before) and set(np.unique(after[:, 0])) <= set(range(90)) | set(range(100, 112))
    assert len(pieces(path)) == 2  # the table and the one segment of the last compaction
    with FeatureStore.open(path) as s:
        assert s.verify() == []


RACER = r"""
import sys, time, numpy as np
from store import FeatureStore
path = sys.argv[1]
prov = {"encoder": "test", "sha256": "0" * 64, "preprocessing": "none"}
with FeatureStore.open(path, "a") as s:
    ids = s.ids()
    deadline = time.time() + float(sys.argv[2])
    c = 0
    while time.time() < deadline:
        c += 1
        s.write_features("poster/p", ids, np.full((len(ids), 3), c, np.float32), prov)   # supersedes all rows
        s.compact()
"""


def test_readers_racing_compaction_and_gc_always_see_one_whole_version(tmp_path):
    path = tmp_path / "s.h5"
    ids = make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ids, np.zeros((30, 3)), PROV)
    writer = subprocess.Popen([sys.executable, "-c", RACER, str(path), "3"])
    opened = 0
    try:
        while writer.poll() is None:
            with FeatureStore.open(path) as r:
                X = r.lookup(ids, "poster/p")
                assert len(np.unique(X)) == 1, "rows of two versions mixed"
                opened += 1
    finally:
        writer.wait()
    assert writer.returncode == 0 and opened > 5


def test_automatic_compaction_bounds_segments_and_garbage_is_collected(tmp_path, monkeypatch):
    monkeypatch.setattr(compaction, "BASE_ROWS", 2)
    monkeypatch.setattr(compaction, "FANOUT", 4)
    monkeypatch.setattr(compaction, "SMALL_FANOUT", 4)
    path = tmp_path / "s.h5"
    ids = make_store(path)
    with FeatureStore.open(path, "a") as s:
        for k in range(15):
            s.write_features("poster/p", ids[2 * k:2 * k + 2], np.full((2, 2), k, np.float32), PROV)
        segments = s.feature_info("poster/p")["segments"]
        np.testing.assert_array_equal(s.lookup(ids, "poster/p")[:, 0], np.repeat(np.arange(15), 2))
    assert segments <= 6  # 15 appends: tiers of 2, 8 (and the rest), not 15 segments
    assert len(pieces(path)) == 1 + segments  # the table and the live segments: nothing else is kept


def test_compact_drops_superseded_rows_and_deleted_features_leave_no_pieces(tmp_path):
    path = tmp_path / "s.h5"
    ids = make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ids, np.zeros((30, 2)), PROV)
        s.write_features("poster/p", ids[:10], np.ones((10, 2)), PROV)
        assert s.delete_rows("poster/p", ids[25:] + ["not-there"]) == 5
        s.write_features("poster/q", ids[:3], np.ones((3, 2)), PROV)
        s.delete_feature("poster/q")
        assert s.compact() == {"poster/p": (2, 1)}
        info = s.feature_info("poster/p")
        assert info["shape"] == (25, 2) and info["superseded_rows"] == 0
        np.testing.assert_array_equal(s.lookup(ids[:25], "poster/p")[:, 0], [1] * 10 + [0] * 15)
        assert s.delete_rows("poster/p", ids) == 25 and s.features() == []
    assert pieces(path) == [p for p in pieces(path) if p.startswith("movies-")]


def test_v1_store_reads_refuses_writes_and_migrates(tmp_path):
    path = tmp_path / "old.h5"
    data = write_v1_store(path)
    with FeatureStore.open(path) as s:
        assert s.schema_version == 1 and s.verify() == []
        np.testing.assert_array_equal(s.lookup(["v2", "v0"], "poster/old"), data["dense"][[2, 0]])
    with pytest.raises(MigrationNeededError, match="onesheet store migrate"):
        FeatureStore.open(path, "a")
    assert migrate(path)["migrated"] and not migrate(path)["migrated"]
    with FeatureStore.open(path) as s:
        assert s.schema_version == 2 and s.verify() == []
        assert s.ids() == data["ids"] and s.genres() == ["A", "B", "C"]
        np.testing.assert_array_equal(s.labels(data["ids"]), data["labels"])
        ids, X = s.matrix("poster/old")
        np.testing.assert_array_equal(X, data["dense"])
        assert ids == data["ids"][:-3]
        np.testing.assert_array_equal(s.lookup(data["ids"], "overview/words").toarray(), data["sparse"].toarray())
        assert list(s.artifacts("overview/words")["terms"]) == [f"w{j}" for j in range(9)]
        assert s.ingest_reports()[0]["catalog"] == "old.csv"
    with FeatureStore.open(path, "a") as s:       # writable now
        s.write_features("poster/old", ["v39"], np.ones((1, 6)), {"encoder": "old", "sha256": "0" * 64, "preprocessing": "none"})


def test_symlinked_store_locks_and_replaces_its_target(tmp_path):
    real = tmp_path / "data" / "s.h5"
    real.parent.mkdir()
    make_store(real)
    link = tmp_path / "link.h5"
    link.symlink_to(real)
    with FeatureStore.open(link, "a") as s:
        assert s.path == str(real)
        with pytest.raises(Exception, match="being written"):
            FeatureStore.open(real, "a")
        s.write_features("poster/p", ["m1"], np.ones((1, 2)), PROV)
    assert link.is_symlink() and os.path.exists(str(real) + ".lock") and not os.path.exists(str(link) + ".lock")
    with FeatureStore.open(link) as s, FeatureStore.open(real) as t:
        assert s.version == t.version and s.feature_ids("poster/p") == ["m1"]


@pytest.mark.parametrize("n", [0, 1, 511, 512, 513, 5000])
def test_sorted_hash_search_finds_every_equal_hash_across_blocks(n):
    from store.idhash import SortedHashes, hash_ids
    rng = np.random.default_rng(n)
    hashes = rng.integers(0, 40 if n > 1000 else 2 ** 63, n).astype(np.uint64)   # long runs of equal hashes
    index = SortedHashes.of(hashes)
    query = np.concatenate([hashes[rng.integers(0, max(n, 1), 100)] if n else np.empty(0, np.uint64),
                            rng.integers(0, 2 ** 63, 20).astype(np.uint64)])
    qpos, rows = index.candidates(query)
    expected = sorted((i, j) for i, h in enumerate(query.tolist()) for j in np.flatnonzero(hashes == h).tolist())
    assert sorted(zip(qpos.tolist(), rows.tolist())) == expected
    assert len(set(hash_ids([f"tt{i:07d}" for i in range(100_000)]).tolist())) == 100_000


FEATURIZER = r"""
import sys, time, numpy as np
from store import FeatureStore
path, commits = sys.argv[1], int(sys.argv[2])
prov = {"encoder": "test", "sha256": "0" * 64, "preprocessing": "none"}
with FeatureStore.open(path, "a") as s:
    ids = s.ids()
    for c in range(commits):
        new = ids[10 + 2 * c:12 + 2 * c]
        with s.batch():    # new movies, and an updated poster of an old one, in one version
            s.write_features("poster/p", new, [[int(m[1:]), 0.5, -int(m[1:])] for m in new], prov)
            s.write_features("poster/p", ["m0"], [[1000 + c, 0.5, 0]], prov)
        if c % 4 == 3:
            s.compact()
        time.sleep(0.02)
"""


def expected(ids):
    return np.array([[int(m[1:]), 0.5, -int(m[1:])] for m in ids], np.float32)


def test_reader_serves_its_snapshot_while_a_writer_commits_then_refresh_sees_new_rows(tmp_path):
    """Serve while featurize, at the store level: exact bytes of one version, never garbage."""
    path = tmp_path / "s.h5"
    ids = make_store(path)
    old = ids[:10]
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", old, expected(old), PROV)
    reader, follower = FeatureStore.open(path), FeatureStore.open(path)
    writer = subprocess.Popen([sys.executable, "-c", FEATURIZER, str(path), "10"])
    seen, refreshed = 10, 0
    try:
        while writer.poll() is None:
            np.testing.assert_array_equal(reader.lookup(old, "poster/p"), expected(old))   # the snapshot's bytes
            with pytest.raises(UnknownIdsError):
                reader.lookup(["m10"], "poster/p")                   # rows of later versions are not in it
            if follower.refresh():
                refreshed += 1
                held = follower.feature_ids("poster/p")
                X = follower.lookup(held, "poster/p")
                m0 = held.index("m0")
                np.testing.assert_array_equal(np.delete(X, m0, 0), expected([m for m in held if m != "m0"]))
                assert X[m0, 0] in range(1000, 1010) and len(held) >= seen
                assert len(held) == 10 + 2 * (X[m0, 0] - 999)         # new rows and the update: one version
                seen = len(held)
    finally:
        writer.wait()
    assert writer.returncode == 0 and refreshed >= 1
    np.testing.assert_array_equal(reader.lookup(old, "poster/p"), expected(old))
    assert reader.refresh() and not reader.is_stale()
    held = reader.feature_ids("poster/p")
    assert sorted(held) == sorted(ids[:30])
    np.testing.assert_array_equal(reader.lookup(ids[10:30], "poster/p"), expected(ids[10:30]))
    np.testing.assert_array_equal(reader.lookup(["m0"], "poster/p"), [[1009, 0.5, 0]])
    reader.close()
    follower.close()


@pytest.mark.parametrize("scratch_max", [16 << 20, 1 << 16])
def test_lookups_over_many_segments_in_threads_return_the_asked_rows(tmp_path, monkeypatch, scratch_max):
    """Per-segment gathers share a per-thread scratch buffer (or a fresh one past its limit)."""
    import threading
    from store import reading
    monkeypatch.setattr(reading, "SCRATCH_MAX_BYTES", scratch_max)
    path = tmp_path / "s.h5"
    ids = make_store(path)
    value = {m: np.arange(2048, dtype=np.float32) + 10 * i for i, m in enumerate(ids)}
    with FeatureStore.open(path, "a") as s:
        for k in range(0, 30, 5):
            s.write_features("poster/p", ids[k:k + 5], [value[m] for m in ids[k:k + 5]], PROV)
        value["m7"] = value["m7"] * -1
        s.write_features("poster/p", ["m7"], [value["m7"]], PROV)        # supersedes a row of segment 2
        assert s.feature_info("poster/p")["segments"] >= 6
    rng = np.random.default_rng(0)
    asks = [[ids[i] for i in rng.integers(0, 30, size=n)] for n in (1, 2, 7, 40, 400) for _ in range(10)]
    failures = []
    with FeatureStore.open(path) as s:
        def ask():
            for q in asks:
                got = s.lookup(q, "poster/p")
                if not np.array_equal(got, np.array([value[m] for m in q])):
                    failures.append(q)
        threads = [threading.Thread(target=ask) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not failures
