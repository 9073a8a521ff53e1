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
    assert text.index("svm__poster-efficientnet-lite0: test micro-F1") > headers[2]
    assert "constant answer" in text[headers[2]:]
    metrics = json.loads((out / "report" / "metrics.json").read_text())
    assert metrics["test_movies"] < 30 and metrics["best"] is None
    assert f"no best model named: the test split rests on {metrics['test_movies']} movies (< 30)" in text
    assert "best model svm" not in text
    assert (out / "report" / "report.html").exists()
