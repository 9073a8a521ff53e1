"""Heads: scikit-learn compatibility, class balancing, per-genre thresholds, constant genres."""

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.base import clone
from sklearn.metrics import f1_score, recall_score
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import (
    check_get_params_invariance, check_no_attributes_set_in_init, check_parameters_default_constructible,
    check_set_params,
)

from classifiers.model.features import BlockScaler
from classifiers.model.heads import MLPHead, NBHead, SVMHead, make_head
from classifiers.model.thresholds import best_f1_threshold, tune_thresholds

HEADS = [SVMHead(), NBHead(), MLPHead(hidden=(16,), max_iter=300)]


def imbalanced(n=2000, d=8, seed=0):
    """Genre 0 common, genre 1 rare (~4%), genre 2 never present."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.zeros((n, 3), np.uint8)
    Y[:, 0] = X[:, 0] + 0.8 * rng.normal(size=n) > 0
    Y[:, 1] = X[:, 1] + 0.8 * rng.normal(size=n) > 2.1
    return X, Y


@pytest.mark.parametrize("head", HEADS, ids=lambda h: type(h).__name__)
def test_sklearn_api_checks(head):
    name = type(head).__name__
    check_get_params_invariance(name, head)
    check_set_params(name, head)
    check_no_attributes_set_in_init(name, head)
    check_parameters_default_constructible(name, head)
    c = clone(head)
    assert c.get_params() == head.get_params() and c is not head


@pytest.mark.parametrize("head", HEADS, ids=lambda h: type(h).__name__)
def test_fit_predict_in_a_pipeline_and_constant_genre(head):
    X, Y = imbalanced()
    model = Pipeline([("scale", StandardScaler()), ("head", clone(head))]).fit(X[:1500], Y[:1500])
    P = model.predict_proba(X[1500:])
    assert P.shape == (500, 3) and np.all((P >= 0) & (P <= 1))
    assert model.predict(X[1500:]).shape == (500, 3)
    assert model[-1].constant_genres_ == {2: 0}
    assert not model.predict(X[1500:])[:, 2].any()  # never seen: always "no"
    assert f1_score(Y[1500:, 0], model.predict(X[1500:])[:, 0]) > 0.7


@pytest.mark.parametrize("kind", ["svm", "nb", "mlp"])
def test_balancing_raises_minority_recall(kind):
    X, Y = imbalanced(n=3000)
    params = {"hidden": (16,), "max_iter": 300} if kind == "mlp" else {}
    Xtr, Ytr, Xte, Yte = X[:2000], Y[:2000], X[2000:], Y[2000:]
    scaler = StandardScaler().fit(Xtr)
    recall = {}
    for balance in (True, False):
        head = make_head(kind, balance=balance, **params).fit(scaler.transform(Xtr), Ytr)
        recall[balance] = recall_score(Yte[:, 1], head.predict(scaler.transform(Xte))[:, 1])
    assert recall[True] > recall[False] + 0.2, recall


def test_per_genre_thresholds_raise_f1():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6000, 4))
    Y = np.zeros((6000, 2), np.uint8)
    Y[:, 0] = X[:, 0] + 0.5 * rng.normal(size=6000) > 0        # common, clean
    Y[:, 1] = X[:, 1] + 1.5 * rng.normal(size=6000) > 3.0      # rare and noisy: 0.5 is the wrong cut
    head = make_head("svm", balance=False).fit(X[:3000], Y[:3000])
    P_val, P_test = head.predict_proba(X[3000:4500]), head.predict_proba(X[4500:])
    before = f1_score(Y[4500:], P_test >= 0.5, average="macro", zero_division=0)
    head.set_thresholds(tune_thresholds(Y[3000:4500], P_val))
    after = f1_score(Y[4500:], head.predict(X[4500:]), average="macro", zero_division=0)
    assert after > before + 0.05, (before, after)
    assert head.thresholds_[1] < 0.5


def test_best_f1_threshold_exact():
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.3, 0.8, 0.35, 0.9])
    t = best_f1_threshold(y, p)
    assert 0.2 < t < 0.3  # taking every score from 0.3 up gives F1 0.857, the best cut
    assert best_f1_threshold(np.zeros(4), np.ones(4), default=0.42) == 0.42


def test_nb_picks_variant_from_data():
    X, Y = imbalanced()
    counts = sp.csr_matrix(np.abs(np.round(X * 3)))
    assert NBHead().fit(counts, Y).variant_ == "complement"
    assert NBHead().fit(X, Y).variant_ == "gaussian"


def test_block_scaler_gives_each_dense_block_unit_scale():
    rng = np.random.default_rng(0)
    dense = rng.normal(5, 10, size=(200, 100))
    sparse = sp.random(200, 50, density=0.1, format="csr", random_state=0)
    X = sp.hstack([sp.csr_matrix(dense), sparse], format="csr")
    out = BlockScaler([100, 50], ["dense", "sparse"]).fit(X).transform(X)
    block = out[:, :100].toarray()
    np.testing.assert_allclose(np.sqrt((block ** 2).sum(axis=1)).mean(), 1.0, rtol=0.1)
    assert (out[:, 100:] != sparse).nnz == 0
