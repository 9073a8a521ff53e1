"""Metrics against scikit-learn, the report on a small synthetic store, and explore."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import f1_score, hamming_loss

from classifiers import FitOptions, ModelDir, fit
from classifiers.model import metrics
from classifiers.experiment.evaluate import evaluate, null_baselines
from classifiers.experiment.explore import bicluster_order, cooccurrence, split_greys
from classifiers.reports.evaluation import build
from onesheet import main
from store import FeatureStore

PROV = {"encoder": "synthetic", "sha256": "0" * 64, "preprocessing": "none"}


def test_metrics_match_sklearn_and_hand_counts():
    Y = np.array([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]])
    pred = np.array([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 0, 1]])
    s = metrics.summary(Y, pred)
    assert s["f1_micro"] == pytest.approx(f1_score(Y, pred, average="micro"))
    assert s["f1_macro"] == pytest.approx(f1_score(Y, pred, average="macro"))
    assert s["f1_samples"] == pytest.approx(f1_score(Y, pred, average="samples"))
    assert s["hamming_loss"] == pytest.approx(hamming_loss(Y, pred))
    assert s["subset_accuracy"] == pytest.approx(0.25)  # only the last row is exact
    scores = np.array([[0.9, 0.1, 0.5], [0.8, 0.2, 0.1], [0.1, 0.7, 0.3], [0.2, 0.3, 0.1]])
    # top genres: 0 (true), 0 (false), 1 (true), 1 (false)
    assert metrics.top_class_accuracy(Y, scores) == pytest.approx(0.5)
    p, r = metrics.top_k_precision_recall(Y, scores, k=2)
    # top-2 hits per row: 2, 1, 1, 0 -> precision mean(1, .5, .5, 0); recall mean(1, 1, .5, 0)
    assert p == pytest.approx(0.5) and r == pytest.approx(0.625)
    rows = metrics.per_genre(Y, pred, scores, ["a", "b", "c"])
    assert [row["support"] for row in rows] == [2, 2, 2] and rows[0]["f1"] == pytest.approx(1.0)


def test_null_baselines():
    Y_train = np.array([[1, 0, 0], [1, 1, 0], [1, 0, 0], [0, 1, 0]])
    Y_test = np.array([[1, 0, 0], [0, 1, 0]])
    b = null_baselines(Y_train, Y_test)
    assert b["all_negative"]["f1_micro"] == 0
    assert b["most_frequent_genre_top_class_accuracy"] == pytest.approx(0.5)
    assert b["most_frequent_genres"] == [0]  # mean 1.25 genres per movie -> the single most frequent


def synthetic_store(path, n=900, seed=0, posters=None):
    """Three decades whose label/feature relation drifts a little from one decade to the next
    (``posters``: a folder to write a small JPEG poster per movie into)."""
    rng = np.random.default_rng(seed)
    ids = [f"s{i}" for i in range(n)]
    decades = np.array([1950, 1990, 2010])[np.arange(n) % 3]
    paths = [""] * n
    if posters is not None:
        from PIL import Image
        posters.mkdir(parents=True, exist_ok=True)
        paths = [str(posters / f"{m}.jpg") for m in ids]
        for i, p in enumerate(paths):
            Image.new("RGB", (60, 90), tuple(int(c) for c in rng.integers(0, 255, 3))).save(p)
    X = rng.normal(size=(n, 12)).astype(np.float32)
    drift = (decades - 1990) / 40.0
    Y = np.zeros((n, 4), np.uint8)
    Y[:, 0] = X[:, 0] + drift * X[:, 4] > 0.3
    Y[:, 1] = X[:, 1] > 0.8
    Y[:, 2] = X[:, 2] + 0.5 * rng.normal(size=n) > 1.6
    Y[:, 3] = (Y.sum(axis=1) == 0)  # every movie has a genre
    with FeatureStore.open(path, "a") as s:
        s.replace_movies({"id": ids, "title": ids, "overview": [""] * n, "poster": paths, "poster_sha256": [""] * n,
                          "year": decades + 5, "decade": decades}, Y, ["Action", "Comedy", "Western", "Drama"])
        s.write_features("synth/x", ids, X, PROV)
    return path


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("eval")
    store = synthetic_store(tmp / "s.h5", posters=tmp / "posters")
    models = tmp / "models"
    fit(store, models, [("svm", "synth/x"), ("nb", "synth/x")], FitOptions(min_movies=150))
    result = evaluate(store, models, min_test=20)
    return result, build(result, tmp / "report"), tmp


def test_report_numbers_cover_the_matrix_baselines_and_comparisons(report):
    result, _, tmp = report
    cfg = next(c for c in result["configs"] if c["name"] == "svm__synth-x")
    assert set(cfg["matrix"]) == {"1950", "1990", "2010", "pooled"}
    for row in cfg["matrix"].values():
        assert set(row) == {"1950", "1990", "2010", "<1960"} and all(c["judged"] for c in row.values())
    split = ModelDir.open(tmp / "models").read_json("split.json")
    assert cfg["n_test"] == len(split["test_ids"]) == 180
    assert cfg["per_decade_system"]["f1_micro"] > cfg["baselines"]["all_negative"]["f1_micro"]
    assert set(cfg["drops"]) == {"1950", "1990", "2010"}
    assert set(result["comparisons"]["heads"]) == {"svm", "nb"}
    assert "balanced" in cfg["balance"] and "unbalanced" in cfg["balance"]
    assert result["cross_era"]["svm__synth-x"]["train_movies"] > 0


def test_report_files_are_self_contained(report):
    _, html_path, tmp = report
    html = open(html_path, encoding="utf-8").read()
    assert not re.search(r"(src|href)=['\"]?(https?:|//)", html)
    assert "http://" not in html and "https://" not in html
    assert html.count("data:image/png;base64,") >= 4
    md = (tmp / "report" / "report.md").read_text()
    assert "Train decade x test decade" in md and (tmp / "report" / "matrix_0.png").exists()
    assert json.loads((tmp / "report" / "metrics.json").read_text())["best"]


def test_evaluate_cli(report):
    _, _, tmp = report
    r = CliRunner().invoke(main, ["evaluate", str(tmp / "s.h5"), "--models", str(tmp / "models"),
                                  "--out", str(tmp / "r2"), "--quick"])
    assert r.exit_code == 0, r.output
    assert "report:" in r.output and (tmp / "r2" / "report.html").exists()
    r = CliRunner().invoke(main, ["evaluate", str(tmp / "s.h5"), "--models", str(tmp), "--out", str(tmp / "r3")])
    assert r.exit_code == 1 and "holds no fitted models" in r.output


def test_explore_on_a_tiny_catalog(tiny_catalog, tmp_path):
    r = CliRunner().invoke(main, ["explore", str(tiny_catalog), "--out", str(tmp_path / "x"), "--per-group", "5"])
    assert r.exit_code == 0, r.output
    summary = json.loads((tmp_path / "x" / "explore.json").read_text())
    assert summary["movies"] == 24 and sum(summary["movies_per_decade"].values()) == 24
    html = (tmp_path / "x" / "explore.html").read_text()
    assert "https://" not in html and html.count("data:image/png;base64,") >= 5
    # colours are shown as swatches, not RGB numbers
    assert html.count("<span class='sw' title='#") >= 5 and "top colour (RGB)" not in html


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_cooccurrence_and_bicluster_order():
    rows = [(("A", "B"), 1990, "", ""), (("A", "B"), 1990, "", ""), (("C", "D"), 1990, "", ""),
            (("C", "D"), 1990, "", ""), (("A",), 1990, "", ""), (("E", "F"), 1990, "", ""), (("E", "F"), 1990, "", "")]
    C = cooccurrence(rows, list("ABCDEF"))
    assert C[0, 0] == 3 and C[0, 1] == 2 and C[0, 2] == 0
    order = bicluster_order(C, n_clusters=3)
    pos = {g: order.index(i) for i, g in enumerate("ABCDEF")}
    for a, b in (("A", "B"), ("C", "D"), ("E", "F")):
        assert abs(pos[a] - pos[b]) == 1  # genres that travel together sit together


def test_greys_are_separated():
    pixels = np.array([[0.5, 0.5, 0.5], [0.02, 0.02, 0.03], [0.99, 0.98, 0.99], [0.9, 0.1, 0.1], [0.1, 0.2, 0.8]])
    coloured, grey = split_greys(pixels)
    assert grey == pytest.approx(0.6) and len(coloured) == 2


def test_comparison_refits_use_the_fits_seed_and_validation_size(tmp_path, monkeypatch):
    from classifiers.experiment import evaluate as ev
    store = synthetic_store(tmp_path / "s.h5")
    fit(store, tmp_path / "m", [("svm", "synth/x")], FitOptions(seed=3, val_size=0.3, compare_balance=False))
    seen, real = [], ev.validation
    monkeypatch.setattr(ev, "validation", lambda ids, d, size, seed: seen.append((size, seed)) or real(ids, d, size, seed))
    ev.evaluate(store, tmp_path / "m", era=False)
    assert seen == [(0.3, 3)]


def test_evaluate_prior_shift_scores_the_earlier_decades(report):
    _, _, tmp = report
    result = evaluate(str(tmp / "s.h5"), str(tmp / "models"), min_test=20, balance_check=False, prior_shift=True)
    era = result["cross_era"]["svm__synth-x"]
    shifted = era["earlier_prior_shift"]
    assert shifted["judged"] and 0 <= shifted["f1_micro"] <= 1
    assert len(shifted["estimated_priors"]) == 4 and shifted["em_iterations"] >= 1
    assert "earlier_prior_shift" not in evaluate(str(tmp / "s.h5"), str(tmp / "models"), min_test=20,
                                                 balance_check=False)["cross_era"]["svm__synth-x"]
