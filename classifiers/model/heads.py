"""Multi-label one-vs-rest heads: svm, nb and mlp, scikit-learn compatible.

Each head takes X (n, d) and a multi-hot Y (n, k) and offers ``decision_function`` (raw
per-genre scores), ``predict_proba`` (per-genre probabilities) and ``predict`` (probabilities
at or above ``thresholds``, 0.5 unless tuned). Class balancing is on by default. A genre
with no positive (or no negative) training example becomes a constant predictor and is
listed in ``constant_genres_`` rather than crashing the fit.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.linear_model import LogisticRegression
from sklearn.naive_bayes import ComplementNB, GaussianNB, MultinomialNB
from sklearn.neural_network import MLPClassifier
from sklearn.svm import SVC, LinearSVC
from sklearn.utils.validation import check_is_fitted


def _as_2d_labels(Y):
    Y = np.asarray(Y)
    if Y.ndim == 1:
        Y = Y[:, None]
    return (Y > 0).astype(np.uint8)


def balanced_weights(y):
    """Per-sample weights giving both classes of a binary target equal total weight."""
    y = np.asarray(y)
    n, pos = len(y), int(y.sum())
    w = np.ones(n)
    if 0 < pos < n:
        w[y == 1] = n / (2 * pos)
        w[y == 0] = n / (2 * (n - pos))
    return w


class _OvRHead(ClassifierMixin, BaseEstimator):
    """Shared machinery: per-genre binary estimators, constant genres, thresholds, probabilities."""

    def _binary(self):
        raise NotImplementedError

    def fit(self, X, Y):
        Y = _as_2d_labels(Y)
        self.n_features_in_ = X.shape[1]
        self.n_genres_ = Y.shape[1]
        self.classes_ = np.arange(self.n_genres_)
        self.constant_genres_ = {j: (int(Y[0, j]) if len(Y) else 0) for j in range(self.n_genres_)
                                 if len(Y) == 0 or Y[:, j].min() == Y[:, j].max()}
        self.estimators_ = self._fit_estimators(X, Y)
        self._fit_calibration(X, Y)
        self.default_thresholds_ = self._default_thresholds()
        self.thresholds_ = self.default_thresholds_.copy()
        return self

    def _fit_estimators(self, X, Y):
        """One binary estimator per genre (None for constant genres)."""
        def fit_genre(j):
            if j in self.constant_genres_:
                return None
            est = self._binary()
            self._fit_binary(est, X, Y[:, j])
            return est

        # liblinear and the NB fits release the GIL: genres train in parallel threads
        workers = self.n_jobs if self.n_jobs else (os.cpu_count() or 1)
        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            return list(pool.map(fit_genre, range(self.n_genres_)))

    def _default_thresholds(self):
        """The head's own decision rule before any tuning: probability 0.5."""
        return np.full(self.n_genres_, 0.5)

    def _fit_binary(self, est, X, y):
        est.fit(X, y, sample_weight=balanced_weights(y) if self.balance else None)

    def _fit_calibration(self, X, Y):
        self.calibration_ = None

    def _raw(self, est, X):
        return est.decision_function(X)

    def decision_function(self, X):
        check_is_fitted(self, "estimators_")
        out = np.empty((X.shape[0], self.n_genres_))
        for j, est in enumerate(self.estimators_):
            out[:, j] = (self._raw(est, X) if est is not None
                         else (1e3 if self.constant_genres_[j] else -1e3))
        return out

    def predict_proba(self, X):
        return self._scores_to_proba(self.decision_function(X))

    def _scores_to_proba(self, scores):
        if self.calibration_ is None:
            return 1.0 / (1.0 + np.exp(-np.clip(scores, -50, 50)))
        a, b = self.calibration_
        return 1.0 / (1.0 + np.exp(-np.clip(a * scores + b, -50, 50)))

    def predict(self, X):
        return (self.predict_proba(X) >= self.thresholds_).astype(np.uint8)

    def set_thresholds(self, thresholds):
        self.thresholds_ = np.asarray(thresholds, dtype=float)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.classifier_tags.multi_label = True
        tags.input_tags.sparse = True
        return tags


class SVMHead(_OvRHead):
    """Linear (primal liblinear) or RBF SVM per genre; Platt-style sigmoid for probabilities."""

    def __init__(self, C=0.1, kernel="linear", balance=True, n_jobs=None):
        self.C = C
        self.kernel = kernel
        self.balance = balance
        self.n_jobs = n_jobs

    def _binary(self):
        cw = "balanced" if self.balance else None
        if self.kernel == "rbf":
            return SVC(C=self.C * 10, kernel="rbf", gamma="scale", class_weight=cw)
        return LinearSVC(C=self.C, class_weight=cw, dual="auto", max_iter=5000)

    def _fit_binary(self, est, X, y):
        # primal for dense data (fast for n >> d); dual for wide sparse data
        if self.kernel == "linear":
            est.set_params(dual=bool(sp.issparse(X) and X.shape[1] > X.shape[0]))
        est.fit(X, y)

    def fit(self, X, Y):
        self.coef_ = None  # calibration inside super().fit must use the new estimators
        super().fit(X, Y)
        if self.kernel == "linear":
            # one (d, k) matrix for every genre: a single product instead of k validated calls
            coef = np.zeros((self.n_features_in_, self.n_genres_))
            intercept = np.zeros(self.n_genres_)
            for j, est in enumerate(self.estimators_):
                if est is None:
                    intercept[j] = 1e3 if self.constant_genres_[j] else -1e3
                else:
                    coef[:, j], intercept[j] = est.coef_.ravel(), est.intercept_[0]
            self.coef_, self.intercept_ = coef, intercept
        return self

    def decision_function(self, X):
        if getattr(self, "coef_", None) is None:
            return super().decision_function(X)
        check_is_fitted(self, "estimators_")
        return np.asarray(X @ self.coef_) + self.intercept_

    def _fit_calibration(self, X, Y):
        """One sigmoid per genre on the training scores: maps margins to probabilities.

        The sigmoid is fitted without class weights, so probabilities stay honest (and rank
        genres sensibly); the balanced SVM's own decision boundary, margin 0, becomes the
        default threshold instead (see _default_thresholds).
        """
        scores = self.decision_function(X) if any(e is not None for e in self.estimators_) else None
        a, b = np.ones(self.n_genres_), np.zeros(self.n_genres_)
        if scores is not None:
            for j, est in enumerate(self.estimators_):
                if est is None:
                    continue
                lr = LogisticRegression(C=1.0).fit(scores[:, j:j + 1], Y[:, j])
                a[j], b[j] = lr.coef_[0, 0], lr.intercept_[0]
        self.calibration_ = (a, b)

    def _default_thresholds(self):
        """The probability at margin 0: where the (balanced) SVM itself draws the line."""
        return self._scores_to_proba(np.zeros((1, self.n_genres_)))[0]


class NBHead(_OvRHead):
    """Naive Bayes per genre: Complement/Multinomial on non-negative counts, Gaussian otherwise."""

    def __init__(self, variant="auto", alpha=1.0, balance=True, n_jobs=1):
        self.variant = variant
        self.alpha = alpha
        self.balance = balance
        self.n_jobs = n_jobs

    def _variant_for(self, X):
        if self.variant != "auto":
            return self.variant
        nonneg = (X.data.min(initial=0) >= 0) if sp.issparse(X) else (np.min(X, initial=0) >= 0)
        return "complement" if sp.issparse(X) and nonneg else "gaussian"

    def fit(self, X, Y):
        self.variant_ = self._variant_for(X)
        if self.variant_ == "gaussian" and sp.issparse(X):
            X = X.toarray()
        return super().fit(X, Y)

    def _binary(self):
        return {"complement": ComplementNB(alpha=self.alpha), "multinomial": MultinomialNB(alpha=self.alpha),
                "gaussian": GaussianNB()}[self.variant_]

    def _raw(self, est, X):
        if self.variant_ == "gaussian" and sp.issparse(X):
            X = X.toarray()
        log_p = est.predict_joint_log_proba(X) if hasattr(est, "predict_joint_log_proba") else est.predict_log_proba(X)
        return log_p[:, 1] - log_p[:, 0]  # log-odds


class MLPHead(_OvRHead):
    """One multi-label MLP (sigmoid outputs) with early stopping.

    MLPClassifier takes no class weights, so balancing resamples the training rows: each
    row is drawn with probability proportional to the inverse frequency of its rarest genre.
    """

    def __init__(self, hidden=(256,), alpha=1e-3, max_iter=200, balance=True, random_state=0):
        self.hidden = hidden
        self.alpha = alpha
        self.max_iter = max_iter
        self.balance = balance
        self.random_state = random_state

    def _fit_estimators(self, X, Y):
        """One network for every genre; constant genres' outputs are overridden in decision_function."""
        rows = self._balanced_rows(Y, Y.sum(axis=0)) if self.balance else np.arange(len(Y))
        self.net_ = MLPClassifier(hidden_layer_sizes=tuple(self.hidden), alpha=self.alpha, max_iter=self.max_iter,
                                  early_stopping=True, n_iter_no_change=10, random_state=self.random_state)
        self.net_.fit(X[rows], Y[rows])
        return [None if j in self.constant_genres_ else self.net_ for j in range(self.n_genres_)]

    def _balanced_rows(self, Y, counts):
        inv = np.where(counts > 0, len(Y) / np.maximum(counts, 1), 0.0)
        weight = np.where(Y.any(axis=1), (Y * inv).max(axis=1), 1.0)
        weight = weight ** 0.75  # full inverse frequency over-duplicates the rarest genres
        rng = np.random.default_rng(self.random_state)
        return rng.choice(len(Y), size=len(Y), replace=True, p=weight / weight.sum())

    def decision_function(self, X):
        check_is_fitted(self, "net_")
        p = np.clip(self.net_.predict_proba(X), 1e-7, 1 - 1e-7)
        scores = np.log(p / (1 - p))
        for j, v in self.constant_genres_.items():
            scores[:, j] = 1e3 if v else -1e3
        return scores


HEADS = {"svm": SVMHead, "nb": NBHead, "mlp": MLPHead}


def make_head(kind, **params):
    """A fresh head by name ('svm' | 'nb' | 'mlp'), class balancing on unless balance=False."""
    if kind not in HEADS:
        raise ValueError(f"unknown head {kind!r}; choose one of {', '.join(HEADS)}")
    return HEADS[kind](**params)

