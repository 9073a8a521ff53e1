"""fit -> persist -> predict on a slice of the real catalog, plus tamper and provenance checks."""

import csv
import json
import os
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from classifiers.modeldir import persist
from classifiers.errors import ModelIntegrityError, ProvenanceMismatchError
from onesheet import main
from store import TMDB_GENRES, FeatureStore
from tests.conftest import REAL_DATA, real_slice

POSTER = "poster/efficientnet-lite0"


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_manifest_records_split_choices_and_provenance(fitted):
    store, models, manifest = fitted
    split = json.loads((models / "split.json").read_text())
    test_ids = set(split["test_ids"])
    assert 100 < len(test_ids) < 140  # 20% of 600, per decade
    card = manifest["configs"][f"svm__{POSTER.replace('/', '-')}"]
    pooled = persist.read_sidecar(str(models / card["models"]["pooled"]))
    assert pooled["n_train"] + pooled["n_val"] + len(test_ids) == 600
    assert pooled["features"][POSTER]["sha256"] == manifest["encoders"][POSTER]["sha256"]
    assert pooled["sklearn_version"] and pooled["package_version"] and len(pooled["thresholds"]) == 19
    for decade, choice in card["choice"].items():
        assert choice["use"] in ("decade", "pooled") and choice["reason"]
        if choice["use"] == "decade":
            assert decade in card["models"]
    assert set(card["balance_effect"]) >= {"balanced", "unbalanced", "minority_genres"}


def test_predict_single_real_poster_cli(fitted):
    _, models, _ = fitted
    poster = REAL_DATA / "posters" / "10112.jpg"  # The Aristocats
    r = run("predict", "--models", models, poster, "--year", 1975)
    assert r.exit_code == 0, r.output
    first = r.output.splitlines()[0]
    assert "svm__poster" in first and any(g in first for g in TMDB_GENRES)
    r = run("predict", "--models", models, poster, "--overview", "A family of cats inherits a fortune.", "--json")
    out = json.loads(r.output)[0]
    assert out["error"] is None and len(out["genres"]) >= 1
    assert abs(sum(1 for _ in out["probabilities"]) - 19) == 0
    assert out["model"].startswith("svm__poster-efficientnet-lite0+overview-tfidf/")


def test_catalog_mode_on_unseen_movies_with_a_broken_row(fitted, tmp_path):
    _, models, _ = fitted
    path, rows = real_slice(tmp_path / "new.csv", 600, 640)
    for r in rows:
        r["genres"] = ""
    rows[3]["poster"] = str(tmp_path / "gone.jpg")
    (tmp_path / "text.jpg").write_text("not an image")
    rows[5]["poster"] = str(tmp_path / "text.jpg")
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    out = tmp_path / "pred.csv"
    r = run("predict", "--models", models, "--catalog", path, "--out", out)
    assert r.exit_code == 0, r.output
    with open(out, newline="") as f:
        pred = list(csv.DictReader(f))
    assert list(pred[0])[:2] == ["movie_key", "genres"] and list(pred[0])[2:21] == list(TMDB_GENRES)
    assert [p["movie_key"] for p in pred] == [r["movie_key"] for r in rows]
    # no usable poster: the best text-only model answers, and the row says why
    assert pred[5]["error"] == "" and pred[5]["warning"].startswith("poster unusable (not_an_image")
    assert pred[3]["error"] == "" and pred[3]["model"].startswith("nb__overview-bow/") and pred[3]["genres"]
    good = [p for i, p in enumerate(pred) if i not in (3, 5)]
    assert all(p["genres"] and not p["error"] for p in good)


def test_folder_mode(fitted, tmp_path):
    _, models, _ = fitted
    folder = tmp_path / "incoming"
    folder.mkdir()
    for name in ("10112.jpg", "100.jpg"):
        shutil.copy(REAL_DATA / "posters" / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"")
    out = tmp_path / "p.csv"
    r = run("predict", "--models", models, "--posters", folder, "--out", out, "--year", 1970)
    assert r.exit_code == 0, r.output
    pred = {p["id"]: p for p in csv.DictReader(open(out))}
    # bare posters have no overview: a broken one gets no prediction, only an error
    assert set(pred) == {"10112", "100", "broken"} and pred["broken"]["error"].startswith("empty")
    assert pred["broken"]["genres"] == "" and pred["100"]["genres"] and not pred["100"]["error"]


def test_tampered_model_is_refused(fitted, tmp_path):
    _, models, manifest = fitted
    copy = tmp_path / "models"
    shutil.copytree(models, copy)
    card = manifest["configs"][f"svm__{POSTER.replace('/', '-')}"]
    target = copy / card["models"]["pooled"]
    data = bytearray(target.read_bytes())
    data[len(data) // 2] ^= 0xFF
    target.write_bytes(bytes(data))
    r = run("predict", "--models", copy, REAL_DATA / "posters" / "100.jpg")
    assert r.exit_code == 1 and "does not match the sha256" in r.output
    with pytest.raises(ModelIntegrityError):
        persist.load(str(target))


def test_provenance_mismatch_is_refused(fitted):
    _, models, manifest = fitted
    card = manifest["configs"][f"svm__{POSTER.replace('/', '-')}"]
    path = str(models / card["models"]["pooled"])
    model, sidecar = persist.load(path, expected_features=manifest["encoders"])
    other = {POSTER: dict(manifest["encoders"][POSTER], sha256="f" * 64)}
    with pytest.raises(ProvenanceMismatchError, match="re-run onesheet fit"):
        persist.load(path, expected_features=other)


def test_persist_round_trip(tmp_path):
    from classifiers.model.heads import make_head
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(200, 5)), (rng.random((200, 3)) < 0.3).astype(int)
    head = make_head("svm").fit(X, Y)
    path = str(tmp_path / "m.joblib")
    persist.save(head, path, {"features": {}})
    loaded, sidecar = persist.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(X), head.predict_proba(X))
    assert sidecar["joblib_sha256"] and sidecar["schema_version"] == persist.MODEL_SCHEMA_VERSION


def test_predictor_without_models_is_a_clear_error(tmp_path):
    r = run("predict", "--models", tmp_path, REAL_DATA / "posters" / "100.jpg")
    assert r.exit_code == 1 and "holds no fitted models" in r.output
