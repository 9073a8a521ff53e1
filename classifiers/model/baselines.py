"""The constant answers a model must beat, and the small-data rule.

A genre model is only worth something where it beats the best *constant* answer on the
same movies: every movie filed under the k most frequent training genres (k chosen as the
best on those movies, which flatters the constant, so beating it is an honest bar), and,
for top-class accuracy, always naming the single most frequent training genre.
"""

import numpy as np

from . import metrics

# A score resting on fewer movies than this is flagged as unreliable and never used to
# name a best model.
MIN_RELIABLE = 30


def frequency_order(Y_train):
    """Genre indices, most frequent in the training labels first (ties: lower index)."""
    Y_train = np.asarray(Y_train)
    counts = Y_train.sum(axis=0) if len(Y_train) else np.zeros(Y_train.shape[1])
    return [int(j) for j in np.argsort(-counts, kind="stable")]


def constant_answer(Y_train, Y, max_k=None):
    """Best constant answer on rows Y: the k most frequent training genres, best k by micro-F1.

    Returns {k, genres (indices), f1_micro, f1_macro, top_class_accuracy, n}; the top-class
    accuracy is the prior-only one (always the most frequent training genre first).
    """
    Y = np.asarray(Y)
    order = frequency_order(Y_train)
    out = {"n": int(len(Y))}
    if len(Y) == 0:
        return out
    positives = int(Y.sum())
    support = Y.sum(axis=0)
    best = None
    for k in range(1, (max_k or Y.shape[1]) + 1):
        genres = order[:k]
        tp = int(support[genres].sum())
        f1 = 2 * tp / (k * len(Y) + positives) if positives else 0.0
        if best is None or f1 > best[1]:
            best = (k, f1)
    k = best[0]
    pred = np.zeros_like(Y)
    pred[:, order[:k]] = 1
    prior = np.zeros(Y.shape, dtype=float)
    prior[:, order] = np.linspace(1.0, 0.0, len(order), endpoint=False)  # rank as a score
    s = metrics.summary(Y, pred, prior)
    out.update(k=k, genres=order[:k], f1_micro=s["f1_micro"], f1_macro=s["f1_macro"],
               top_class_accuracy=s["top_class_accuracy"])
    return out


def beats(model_score, constant_score):
    """True when the model's micro-F1 is strictly above the constant's (None when unknown)."""
    if model_score is None or constant_score is None:
        return None
    return bool(model_score > constant_score)


def small_data_note(n, what="score"):
    """A warning sentence when a score rests on fewer than MIN_RELIABLE movies, else ''."""
    if n is None or n >= MIN_RELIABLE:
        return ""
    return f"{what} rests on {n} movies (< {MIN_RELIABLE}): not reliable"


def validation_comparison(model_f1, Y_train, Y_val):
    """What fit records per decade: the answering model's validation micro-F1 beside the best
    constant on the same validation rows, whether it beats it, and a small-data note."""
    const = constant_answer(Y_train, Y_val)
    out = {"val_f1_micro_answer": model_f1, "val_constant_f1_micro": const.get("f1_micro"), "val_constant_k": const.get("k"),
           "val_beats_constant": beats(model_f1, const.get("f1_micro")) if len(Y_val) else None}
    note = small_data_note(len(Y_val), "validation score")
    if note:
        out["val_note"] = note
    return out


def constant_note(comparison, where):
    """The sentence predict adds about the answering model: did it beat the constant answer on
    the validation movies of its decade (``where``), on how many, and whether that is too few."""
    if not comparison or comparison.get("val_beats_constant") is None:
        return ""
    verdict = "better" if comparison["val_beats_constant"] else "NOT better"
    note = (f"this model is {verdict} than the constant answer on {where} validation movies (micro-F1 "
            f"{comparison['val_f1_micro_answer']:.2f} vs {comparison['val_constant_f1_micro']:.2f} for always answering "
            f"the {comparison['val_constant_k']} most frequent training genres)")
    return note + (f"; {comparison['val_note']}" if comparison.get("val_note") else "")
