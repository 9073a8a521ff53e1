"""A running server follows its store: new versions committed by featurize are picked up,
old ids keep answering exactly what was stored, and /similar uses the store's similar index."""

import concurrent.futures
import csv
import dataclasses
import os
import threading
import time

import numpy as np
import pytest

import store.similar
from classifiers.serve.refresh import StoreFollower
from featurize import FeaturizeOptions, featurize
from store import FeatureStore
from store.ann import SimilarIndex, index_path
from tests.conftest import real_slice
from tests.serving import LIMITS, copy_store, served

POSTER = "poster/efficientnet-lite0"


def new_movies(path, start=600, stop=608, slash_id="new/with-slash"):
    """Real catalog rows the fitted store does not hold; the first gets an id containing '/'."""
    catalog, rows = real_slice(path, start, stop)
    with open(catalog, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows, header = list(reader), reader.fieldnames
    rows[0][header[0]] = slash_id
    with open(catalog, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return catalog, [r[header[0]] for r in rows]


@pytest.fixture()
def private(fitted, tmp_path):
    """A copy of the fitted store to commit into while it is served."""
    return copy_store(fitted[0], tmp_path / "live.h5")


def test_server_follows_featurize_and_never_returns_another_versions_bytes(fitted, private, tmp_path):
    with FeatureStore.open(private) as s:
        old_ids = s.feature_ids(POSTER)[:40]
        expected = s.lookup(old_ids, POSTER)
        version_before = s.version
    catalog, added = new_movies(tmp_path / "new.csv")
    with served(fitted, store=private) as (client, _):
        assert client.get("/health").json()["store"]["version"] == version_before
        assert client.get(f"/embeddings/{added[1]}").status_code == 404
        stop, problems, answered = threading.Event(), [], [0]

        def hammer():
            k = 0
            while not stop.is_set():
                i = k % len(old_ids)
                r = client.get(f"/embeddings/{old_ids[i]}")
                got = np.array(r.json()["vector"], np.float32) if r.status_code == 200 else None
                if got is None or not np.array_equal(got, expected[i]):
                    problems.append((old_ids[i], r.status_code, r.text[:200]))
                if k % 10 == 0:
                    r = client.post("/embeddings", json={"ids": old_ids[:8]})
                    got = np.array(list(r.json()["vectors"].values()), np.float32) if r.status_code == 200 else None
                    if got is None or not np.array_equal(got, expected[:8]):
                        problems.append(("batch", r.status_code, r.text[:200]))
                answered[0] += 1
                k += 1

        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            running = [pool.submit(hammer) for _ in range(2)]
            featurize(catalog, private, FeaturizeOptions())        # commits new versions while we read
            with FeatureStore.open(private, "a") as w:
                w.compact()                                         # and replaces the pieces we read from
            with FeatureStore.open(private) as s:
                version_after, new_rows = s.version, s.lookup(added, POSTER)
            deadline = time.time() + 10
            while client.get("/health").json()["store"]["version"] != version_after and time.time() < deadline:
                time.sleep(0.1)
            time.sleep(0.5)
            stop.set()
            [f.result() for f in running]
        assert version_after > version_before
        assert client.get("/health").json()["store"]["version"] == version_after   # found by the periodic check
        assert not problems, problems[:5]
        assert answered[0] > 20
        for movie, row in zip(added, new_rows):
            r = client.get(f"/embeddings/{movie}")                  # '/' in an id is reachable as it is
            assert r.status_code == 200, r.text
            assert np.array_equal(np.array(r.json()["vector"], np.float32), row)
        assert client.get(f"/similar/{added[0]}?k=3").status_code == 200
        assert client.get("/similar/" + added[0].replace("/", "%2F") + "?k=3").status_code == 200


def test_an_unknown_id_makes_the_server_look_for_a_newer_version(fitted, private, tmp_path):
    catalog, added = new_movies(tmp_path / "new.csv")
    never = dataclasses.replace(LIMITS, refresh_seconds=3600)
    with served(fitted, limits=never, store=private) as (client, _):
        before = client.get("/health").json()["store"]["version"]
        featurize(catalog, private, FeaturizeOptions())
        r = client.get(f"/embeddings/{added[2]}")
        assert r.status_code == 200, r.text
        assert client.get("/health").json()["store"]["version"] > before
        assert client.post("/embeddings", json={"ids": added[3:5]}).status_code == 200


def test_a_snapshot_in_use_survives_a_refresh_and_is_closed_after(fitted, private):
    follower = StoreFollower(private, every_seconds=0)
    try:
        with follower.using() as old:
            ids = old.feature_ids(POSTER)[:5]
            before = old.lookup(ids, POSTER)
            with FeatureStore.open(private, "a") as w:                 # supersede those rows, then compact
                w.write_features(POSTER, ids, before + 1.0, w.provenance(POSTER))
                w.compact()
            assert follower.check() and follower.current is not old
            assert np.array_equal(old.lookup(ids, POSTER), before)   # still the version it was opened at
        with pytest.raises(Exception):
            old.lookup(ids, POSTER)                                   # closed once its last user left
        with follower.using() as new:
            assert np.array_equal(new.lookup(ids, POSTER), before + 1.0)
        assert not follower.check()
    finally:
        follower.close()


def test_similar_uses_the_stores_ann_index_for_large_features(fitted, private, monkeypatch):
    monkeypatch.setattr(store.similar, "EXACT_MAX_VALUES", 1000)   # 600 x 1,280 counts as large
    with served(fitted, store=private) as (client, _):
        with FeatureStore.open(private) as s:
            movie = s.feature_ids(POSTER)[3]
            expected = s.similar(movie, POSTER, k=5)
            assert isinstance(store.similar.similar_index(s, POSTER), SimilarIndex)
            path = index_path(s, POSTER)
        os.remove(path)
        r = client.get(f"/similar/{movie}?k=5")
        assert r.status_code == 200, r.text
        assert [(x["id"], pytest.approx(x["similarity"], abs=1e-5)) for x in r.json()["similar"]] == expected
        assert os.path.exists(path)                                   # the server built and kept the ANN index
