"""Prior-shift correction: re-estimate each genre's prior on a target collection by EM.

A model trained on TMDb's genre mix over-predicts Action on a collection of 1940s
melodramas. Saerens, Latinne & Decaestecker (2002, "Adjusting the outputs of a classifier
to new a priori probabilities") showed that, when only the priors change (p(x | y) stays
the same), alternating two steps converges to the target priors' maximum-likelihood
estimate:

  E: p'(y | x) ∝ (π'_y / π_y) p(y | x), renormalised over y in {genre, not genre};
  M: π'_y = mean over the collection of p'(y | x).

Multi-label genres are treated as independent binary problems, one per genre. The
correction needs calibrated probabilities and a collection of more than a handful of
movies; with one movie it would just push every probability to 0 or 1 (``min_rows``).
"""

from dataclasses import dataclass

import numpy as np

EPS = 1e-6


@dataclass
class PriorShift:
    probabilities: np.ndarray   # (n, k) adjusted p'(genre | movie)
    priors: np.ndarray          # (k,) estimated target priors
    train_priors: np.ndarray    # (k,) what the model was trained with
    iterations: int
    converged: bool


def adjust(P, train_priors, target_priors):
    """Bayes' rule for new priors: each column's odds scaled by the prior odds ratio."""
    P = np.clip(np.asarray(P, np.float64), EPS, 1 - EPS)
    pi = np.clip(np.asarray(train_priors, np.float64), EPS, 1 - EPS)
    new = np.clip(np.asarray(target_priors, np.float64), EPS, 1 - EPS)
    pos = P * (new / pi)
    neg = (1 - P) * ((1 - new) / (1 - pi))
    return pos / (pos + neg)


MIN_ROWS = 20   # fewer movies than this give no usable prior estimate


def em_priors(P, train_priors, max_iter=200, tol=1e-6, min_rows=MIN_ROWS):
    """EM estimate of the target collection's genre priors and the adjusted probabilities.

    ``P``: (n, k) probabilities from a model trained with genre priors ``train_priors`` (k,).
    Genres whose training prior is 0 or 1 (the model never saw the other class) are left as
    they are. Raises ValueError below ``min_rows`` movies: the estimate would be noise.
    """
    P = np.asarray(P, np.float64)
    pi = np.asarray(train_priors, np.float64)
    if P.ndim != 2 or pi.shape != (P.shape[1],):
        raise ValueError(f"P must be (n, k) and train_priors (k,), got {P.shape} and {pi.shape}")
    if P.shape[0] < min_rows:
        raise ValueError(f"prior-shift estimation needs at least {min_rows} movies, got {P.shape[0]}")
    free = (pi > 0) & (pi < 1)
    priors = pi.copy()
    adjusted = P.copy()
    converged, it = False, 0
    for it in range(1, max_iter + 1):
        adjusted[:, free] = adjust(P[:, free], pi[free], priors[free])
        new = priors.copy()
        new[free] = adjusted[:, free].mean(axis=0)
        change = float(np.abs(new - priors).max()) if free.any() else 0.0
        priors = new
        if change < tol:
            converged = True
            break
    adjusted[:, free] = adjust(P[:, free], pi[free], priors[free])
    return PriorShift(adjusted, priors, pi, it, converged)


def shifted_summary(model, P, Y, train_priors):
    """Scores of ``model``'s probabilities ``P`` on (P.shape[0], k) labels ``Y`` after EM prior
    re-estimation, at the model's tuned thresholds, with the estimated priors beside them."""
    from . import metrics
    result = em_priors(P, train_priors)
    pred = (result.probabilities >= model[-1].thresholds_).astype(np.uint8)
    return dict(metrics.summary(Y, pred, result.probabilities), judged=True, estimated_priors=result.priors.tolist(),
                em_iterations=result.iterations)
