"""Prior-shift EM (Saerens et al. 2002) recovers known target priors on synthetic data."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression

from classifiers.model.priorshift import adjust, em_priors


def _sample(rng, n, prior, shift=1.2):
    """One binary 'genre': x ~ N(+shift, 1) for positives, N(-shift, 1) for negatives (2 features)."""
    y = (rng.random(n) < prior).astype(int)
    x = rng.normal(size=(n, 2)) + np.where(y[:, None] == 1, shift, -shift)
    return x, y


def test_em_recovers_the_target_priors_of_three_genres():
    rng = np.random.default_rng(0)
    train_priors, target_priors = [0.5, 0.3, 0.1], [0.15, 0.6, 0.3]
    P, Y = [], []
    fitted = []
    for pi, target in zip(train_priors, target_priors):
        x, y = _sample(rng, 20000, pi)
        model = LogisticRegression().fit(x, y)          # calibrated for the training prior
        xt, yt = _sample(rng, 5000, target)
        P.append(model.predict_proba(xt)[:, 1])
        Y.append(yt)
        fitted.append(y.mean())
    P, Y = np.stack(P, 1), np.stack(Y, 1)
    result = em_priors(P, np.array(fitted))
    assert result.converged
    assert np.allclose(result.priors, target_priors, atol=0.02)
    assert not np.allclose(P.mean(0), target_priors, atol=0.02)   # the naive mean is off: the test can fail
    # better calibrated on the target: lower log-loss than the unadjusted probabilities
    def logloss(Q):
        Q = np.clip(Q, 1e-9, 1 - 1e-9)
        return -np.mean(Y * np.log(Q) + (1 - Y) * np.log(1 - Q))
    assert logloss(result.probabilities) < logloss(P) - 0.01


def test_unchanged_priors_leave_probabilities_almost_unchanged():
    rng = np.random.default_rng(1)
    x, y = _sample(rng, 20000, 0.4)
    model = LogisticRegression().fit(x, y)
    xt, _ = _sample(rng, 5000, 0.4)
    P = model.predict_proba(xt)[:, 1:]
    result = em_priors(P, np.array([y.mean()]))
    assert abs(result.priors[0] - 0.4) < 0.02
    assert np.abs(result.probabilities - P).max() < 0.05


def test_genre_never_seen_in_training_is_left_alone():
    P = np.full((50, 2), 0.3)
    result = em_priors(P, np.array([0.0, 0.5]))
    assert np.allclose(result.probabilities[:, 0], 0.3)
    assert result.priors[0] == 0.0


def test_adjust_is_bayes_rule():
    # prior odds doubled (0.5 -> 2/3): odds of 0.5 become 2, i.e. p = 2/3
    assert adjust(np.array([[0.5]]), np.array([0.5]), np.array([2 / 3]))[0, 0] == pytest.approx(2 / 3)


def test_too_few_movies_and_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="at least 20"):
        em_priors(np.full((5, 2), 0.5), np.array([0.5, 0.5]))
    with pytest.raises(ValueError, match="must be"):
        em_priors(np.full((30, 2), 0.5), np.array([0.5]))
