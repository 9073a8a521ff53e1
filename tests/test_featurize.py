"""featurize end to end on small catalogs: broken posters, resume after kill -9, incremental runs."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from click.testing import CliRunner

from featurize import FeaturizeOptions, featurize
from featurize.onnx_export import exported_model
from onesheet import main
from store import FeatureStore
from tests.conftest import make_poster, write_catalog
from tests.images_fixtures import broken_folder
from tests.test_stream import segments

POSTER = "poster/efficientnet-lite0"


@pytest.fixture
def tiny_vectors(tmp_path):
    words = "space ship alien laser planet love kiss heart wedding murder ghost blood cowboy horse".split()
    rng = np.random.default_rng(1)
    path = tmp_path / "vectors.txt"
    path.write_text("".join(f"{w} " + " ".join(f"{x:.4f}" for x in rng.normal(size=8)) + "\n" for w in words))
    return str(path)


def summary_of(summary):
    return {r.name: r for r in summary.features}


def test_default_features_on_a_tiny_catalog(onnx_cache, tiny_catalog, tmp_path):
    store_path = tmp_path / "s.h5"
    summary = featurize(tiny_catalog, store_path)
    runs = summary_of(summary)
    assert set(runs) == {"overview/bow", "overview/tfidf", "overview/glove-6b-50d", "overview/minilm", POSTER}
    assert all(r.written == 24 for r in runs.values())
    assert summary.providers == ["CPUExecutionProvider"]
    with FeatureStore.open(store_path) as s:
        assert s.verify() == []
        assert s.feature_info(POSTER)["shape"] == (24, 1280)
        assert s.feature_info("overview/glove-6b-50d")["shape"] == (24, 50)
        assert s.feature_info("overview/minilm")["shape"] == (24, 384)
        prov = s.provenance(POSTER)
        assert prov["sha256"] and prov["encoder"] == "efficientnet-lite0" and "centre crop 224" in prov["preprocessing"]
        assert len(s.artifacts("overview/tfidf")["terms"]) == s.feature_info("overview/tfidf")["shape"][1]
    again = summary_of(featurize(tiny_catalog, store_path))
    assert all(r.written == 0 and r.already == 24 for r in again.values())


def test_broken_posters_are_reported_row_by_row(onnx_cache, tmp_path, tiny_vectors):
    expected = broken_folder(tmp_path / "posters")
    rows = [[str(i), name, "1999", "Drama", "a cowboy and a horse", f"posters/{name}"]
            for i, name in enumerate(["good.jpg", *expected])]
    rows.append(["99", "no poster", "1999", "Drama", "", "posters/missing.jpg"])
    catalog = write_catalog(tmp_path / "c.csv", rows)
    summary = featurize(catalog, tmp_path / "s.h5", FeaturizeOptions(word_vectors=tiny_vectors))
    runs = summary_of(summary)
    poster = runs[POSTER]
    assert poster.written == 1
    skipped = {m: kind for m, kind, _ in poster.skipped}
    for i, name in enumerate(expected, start=1):
        assert skipped[str(i)] in expected[name]
    assert skipped["99"] == "missing"
    assert runs["overview/wv-vectors"].zero_rows == 1  # the empty overview


def test_incremental_run_embeds_only_new_movies(onnx_cache, tiny_catalog, tmp_path, tiny_vectors):
    store_path = tmp_path / "s.h5"
    featurize(tiny_catalog, store_path, FeaturizeOptions(word_vectors=tiny_vectors))
    with FeatureStore.open(store_path) as s:
        before = s.lookup(["1003"], POSTER)
        vocab = s.provenance("overview/tfidf")["sha256"]
    make_poster(tiny_catalog.parent / "posters" / "new.jpg", 99)
    with open(tiny_catalog, "a") as f:
        f.write("2000,New,2012,Comedy,a ghost in space,posters/new.jpg\n")
    runs = summary_of(featurize(tiny_catalog, store_path, FeaturizeOptions(word_vectors=tiny_vectors)))
    assert all(r.written == 1 and r.already == 24 for r in runs.values())
    with FeatureStore.open(store_path) as s:
        np.testing.assert_array_equal(s.lookup(["1003"], POSTER), before)
        assert s.provenance("overview/tfidf")["sha256"] == vocab  # vocabulary frozen, not refitted


def test_other_encoder_becomes_a_new_feature(onnx_cache, tiny_catalog, tmp_path, tiny_vectors):
    store_path = tmp_path / "s.h5"
    random_onnx = exported_model("efficientnet-lite0", random_weights=True, directory=str(tmp_path))
    opts = FeaturizeOptions(onnx=random_onnx, preprocess="efficientnet", word_vectors=tiny_vectors, text=False)
    runs = summary_of(featurize(tiny_catalog, store_path, opts))
    (name,) = runs
    assert name.startswith("poster/efficientnet-lite0-random")
    featurize(tiny_catalog, store_path, FeaturizeOptions(word_vectors=tiny_vectors, text=False))
    with FeatureStore.open(store_path) as s:
        assert set(s.features()) == {name, POSTER}
        assert s.provenance(name)["sha256"] != s.provenance(POSTER)["sha256"]


def test_cli_prints_summary_and_errors(onnx_cache, tiny_catalog, tmp_path, tiny_vectors):
    r = CliRunner().invoke(main, ["featurize", str(tiny_catalog), "--store", str(tmp_path / "s.h5"),
                                  "--word-vectors", tiny_vectors, "--quiet"])
    assert r.exit_code == 0, r.output
    assert "poster/efficientnet-lite0" in r.output and "24 embedded" in r.output
    r = CliRunner().invoke(main, ["featurize", str(tiny_catalog), "--store", str(tmp_path / "s.h5"),
                                  "--word-vectors", str(tmp_path / "nope.txt"), "--quiet"])
    assert r.exit_code == 1 and "unknown word vectors" in r.output


def test_kill_9_halfway_then_rerun_completes_without_redoing(onnx_cache, tmp_path, tiny_vectors):
    posters = tmp_path / "posters"
    posters.mkdir()
    n = 400
    rows = []
    for i in range(n):
        make_poster(posters / f"{i}.jpg", i, size=(120, 180))
        rows.append([str(i), f"m{i}", "1980", "Drama", "a horse", f"posters/{i}.jpg"])
    catalog = write_catalog(tmp_path / "c.csv", rows)
    store_path = tmp_path / "s.h5"
    cmd = [sys.executable, "-m", "onesheet", "featurize", str(catalog), "--store", str(store_path), "--no-text",
           "--quiet", "--commit-every", "32", "--batch-size", "16", "--decode", "process"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, ONESHEET_CACHE=onnx_cache))
    seen, deadline = 0, time.time() + 120
    while seen < 96 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        try:
            with FeatureStore.open(store_path) as s:
                seen = len(s.feature_ids(POSTER)) if POSTER in s.features() else 0
        except Exception:  # the store may not exist yet
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert 96 <= seen < n, "the writer should have been killed halfway"
    deadline = time.time() + 10   # the resource tracker unlinks the dead run's shared-memory ring
    while time.time() < deadline and segments(proc.pid):
        time.sleep(0.1)
    assert segments(proc.pid) == []
    with FeatureStore.open(store_path) as s:
        assert s.verify() == []
        survived = len(s.feature_ids(POSTER))
    assert survived >= seen
    run = summary_of(featurize(catalog, store_path, FeaturizeOptions(text=False, word_vectors=tiny_vectors)))[POSTER]
    assert run.already == survived and run.written == n - survived
    with FeatureStore.open(store_path) as s:
        assert sorted(s.feature_ids(POSTER), key=int) == [str(i) for i in range(n)]
