"""Bootstrap 95% intervals for micro- and macro-F1 (test decades are small: 30-50 movies).

Resampling movies with replacement is done as a (B, n) matrix of multinomial counts times
per-movie true-positive / false-positive / false-negative counts, so 1,000 resamples of a
1,261-movie split take milliseconds.
"""

import numpy as np


def _f1(tp, fp, fn):
    denom = 2 * tp + fp + fn
    return np.divide(2 * tp, denom, out=np.zeros_like(denom, dtype=float), where=denom > 0)


def bootstrap_f1(Y, pred, n_boot=1000, seed=0, level=0.95):
    """{"f1_micro": [lo, hi], "f1_macro": [lo, hi]} percentile intervals over resampled movies."""
    Y, pred = np.asarray(Y, dtype=float), np.asarray(pred, dtype=float)
    n = len(Y)
    if n == 0:
        return {"f1_micro": [None, None], "f1_macro": [None, None]}
    rng = np.random.default_rng(seed)
    W = rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(float)  # (B, n) resample counts
    TP, FP, FN = W @ (Y * pred), W @ ((1 - Y) * pred), W @ (Y * (1 - pred))  # (B, genres)
    micro = _f1(TP.sum(axis=1), FP.sum(axis=1), FN.sum(axis=1))
    # macro as scikit-learn with zero_division=0 over every genre column
    macro = _f1(TP, FP, FN).mean(axis=1)
    a = (1 - level) / 2
    return {key: [float(np.quantile(v, a)), float(np.quantile(v, 1 - a))]
            for key, v in (("f1_micro", micro), ("f1_macro", macro))}
