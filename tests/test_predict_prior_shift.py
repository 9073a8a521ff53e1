"""predict --prior-shift: a collection's probabilities are corrected to its own genre mix."""

import csv

import numpy as np
from click.testing import CliRunner

from classifiers import Predictor
from onesheet import main
from tests.conftest import real_slice


def test_prior_shift_moves_probabilities_to_a_fixed_point(fitted, tmp_path):
    _, models, _ = fitted
    _, rows = real_slice(tmp_path / "new.csv", 600, 660)
    posters = [r["poster"] for r in rows]
    predictor = Predictor(models)
    plain = predictor.predict(posters)                    # bare posters, no year: one (config, pooled) group
    shifted = predictor.predict(posters, prior_shift=True)
    genres = predictor.genres
    P0 = np.array([[p.probabilities[g] for g in genres] for p in plain])
    P1 = np.array([[p.probabilities[g] for g in genres] for p in shifted])
    assert len({p.model for p in shifted}) == 1
    assert np.abs(P1 - P0).max() > 0.01
    # EM's fixed point: the adjusted probabilities are Bayes' rule applied to the plain ones with
    # the training priors replaced by their own means (the estimated collection priors)
    from classifiers.model.priorshift import adjust
    from classifiers.predict.predictor import train_priors
    config, scope = shifted[0].model.split("/")
    card = predictor.model(config, scope)[1]
    assert np.allclose(adjust(P0, train_priors(card, genres), P1.mean(0)), P1, atol=1e-4)
    # fewer than 20 movies: left as they are
    few = [[p.probabilities[g] for g in genres] for p in predictor.predict(posters[:5], prior_shift=True)]
    assert np.allclose(few, [[p.probabilities[g] for g in genres] for p in predictor.predict(posters[:5])])
    assert not np.allclose(few, P1[:5], atol=1e-3)


def test_catalog_cli_flag(fitted, tmp_path):
    _, models, _ = fitted
    path, _ = real_slice(tmp_path / "new.csv", 600, 640)
    out = tmp_path / "pred.csv"
    r = CliRunner().invoke(main, ["predict", "--models", str(models), "--catalog", str(path), "--out", str(out),
                                  "--prior-shift"])
    assert r.exit_code == 0, r.output
    with open(out, newline="") as f:
        assert len(list(csv.DictReader(f))) == 40
