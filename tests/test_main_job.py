"""`onesheet run` end to end on a small catalog: what it prints as it goes, and its refusal to
name a best model from a test split under 30 movies."""

import json

import numpy as np
from click.testing import CliRunner

from onesheet import main
from tests.conftest import GENRE_POOL, WORDS, make_poster, write_catalog


def small_catalog(tmp_path, n=60):
    posters = tmp_path / "posters"
    posters.mkdir()
    rng = np.random.default_rng(1)
    rows = []
    for i in range(n):
        make_poster(posters / f"{i}.jpg", i)
        genres = "|".join(sorted(set(rng.choice(GENRE_POOL, size=rng.integers(1, 3)))))
        rows.append([str(2000 + i), f"Movie {i}", str(1950 + 30 * (i % 3) + i % 7), genres,
                     " ".join(rng.choice(WORDS, size=12)), f"posters/{i}.jpg"])
    return write_catalog(tmp_path / "movies.csv", rows)


def test_run_prints_stages_fit_summary_and_scores_and_names_no_best_from_a_tiny_split(tmp_path, onnx_cache):
    catalog = small_catalog(tmp_path)
    out = tmp_path / "out"
    r = CliRunner().invoke(main, ["run", str(catalog), "--out", str(out), "--quiet"])
    assert r.exit_code == 0, r.output
    text = r.output
    headers = [text.index(f"== {stage} (estimate: about") for stage in ("featurize", "fit", "evaluate")]
    assert headers == sorted(headers)
    # the fit summary comes between fit and evaluate, with its small-data warnings
    fit_summary = text.index("pooled validation (")
    assert headers[1] < fit_summary < headers[2] and "not reliable" in text[fit_summary:headers[2]]
    # each configuration's score beside its constant is printed during evaluate
    # run embeds the whole poster (the defaults' poster feature) and fits the defaults on it
    assert "poster/efficientnet-lite0-full" in text[:headers[1]]
    assert text.index("svm__poster-efficientnet-lite0-full: test micro-F1") > headers[2]
    assert "constant answer" in text[headers[2]:]
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert metrics["test_movies"] < 30 and metrics["best"] is None
    assert f"no best model named: the test split rests on {metrics['test_movies']} movies (< 30)" in text
    assert "best model svm" not in text
    assert (out / "report" / "report.html").exists()


def test_linear_svm_uses_the_dual_solver_on_dense_data_with_the_primal_solution():
    from sklearn.svm import LinearSVC

    from classifiers.model.heads import SVMHead
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 8))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0.5], axis=1).astype(int)
    head = SVMHead().fit(X, Y)
    assert all(e.dual is True for e in head.estimators_)
    primal = LinearSVC(C=0.1, class_weight="balanced", dual=False).fit(X, Y[:, 0])
    assert np.allclose(head.estimators_[0].coef_, primal.coef_, atol=1e-3)


def test_evaluate_balance_comparison_reuses_the_thresholds_fit_tuned(monkeypatch, tmp_path):
    import classifiers.experiment.evaluate as ev
    from classifiers import FitOptions, fit
    from tests.test_evaluate import synthetic_store
    tmp = tmp_path
    store = synthetic_store(tmp / "s.h5", n=300)
    fitted = fit(store, tmp / "models", [("svm", "synth/x")], FitOptions(min_movies=1000))
    assert len(fitted.manifest["configs"]["svm__synth-x"]["balance_effect"]["other_thresholds"]) == 4
    monkeypatch.setattr(ev, "fit_tuned", lambda *a, **k: (_ for _ in ()).throw(AssertionError("tuned again")))
    result = ev.evaluate(store, tmp / "models", min_test=5, era=False)
    assert {"balanced", "unbalanced"} <= set(result["configs"][0]["balance"])
