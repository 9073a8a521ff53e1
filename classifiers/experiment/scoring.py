"""Per-decade scores beside their constant answers, with bootstrap intervals and small-data
flags, and the example movies the report's gallery shows."""

import numpy as np

from ..model import metrics
from ..model.baselines import MIN_RELIABLE, beats, constant_answer, small_data_note
from .intervals import bootstrap_f1

VINTAGE = 1960  # decades before this are scarce; the matrix also judges them together
MODERN = 1990   # the cross-era split: trained on MODERN and later


def columns(decades):
    """Test columns: every decade, plus all vintage decades (before 1960) taken together."""
    cols = [(str(d), decades == d) for d in sorted(set(int(d) for d in decades if d >= 0))]
    vintage = (decades >= 0) & (decades < VINTAGE)
    if vintage.any():
        cols.append((f"<{VINTAGE}", vintage))
    return cols


def training_rows_for(column, train_decades):
    """The training rows whose genre frequencies define a test column's constant answer:
    the same decade(s) when the pool has any, else the whole pool."""
    if column.startswith("<"):
        rows = (train_decades >= 0) & (train_decades < int(column[1:]))
    else:
        rows = train_decades == int(column)
    return rows if rows.any() else np.ones(len(train_decades), dtype=bool)


def scored_against_constant(Y, pred, P, Y_train, seed=0):
    """One score line: the model, the best constant on the same rows, intervals, flags."""
    s = metrics.summary(Y, pred, P) if len(Y) else {"n": 0}
    const = constant_answer(Y_train, Y)
    out = {"n": int(len(Y)),
           "model": {k: s.get(k) for k in ("f1_micro", "f1_macro", "top_class_accuracy")},
           "constant": {k: const.get(k) for k in ("k", "genres", "f1_micro", "f1_macro", "top_class_accuracy")},
           "ci95": bootstrap_f1(Y, pred, seed=seed),
           "beats_constant": beats(s.get("f1_micro"), const.get("f1_micro")),
           "small": len(Y) < MIN_RELIABLE}
    note = small_data_note(len(Y))
    if note:
        out["warning"] = note
    return out


def per_decade(Y, pred, P, decades, Y_train, train_decades):
    """{column: scored_against_constant(...)} for every decade and the vintage group."""
    return {col: scored_against_constant(Y[rows], pred[rows], P[rows], Y_train[training_rows_for(col, train_decades)])
            for col, rows in columns(decades)}


def per_genre_constant(Y):
    """F1 of always answering each genre on these rows: the best constant for that genre alone."""
    Y = np.asarray(Y)
    support = Y.sum(axis=0)
    return [float(2 * s / (len(Y) + s)) if len(Y) else 0.0 for s in support]


def examples(ids, Y, pred, decades, per_group=3):
    """Test movies for the gallery: the best and worst answered, from vintage and modern decades.

    Deterministic: per-movie Jaccard of true and predicted genres, ties by id.
    """
    Y, pred = np.asarray(Y).astype(bool), np.asarray(pred).astype(bool)
    inter, union = (Y & pred).sum(axis=1), (Y | pred).sum(axis=1)
    score = np.where(union > 0, inter / np.maximum(union, 1), 0.0)
    vintage = (decades >= 0) & (decades < VINTAGE)
    if not vintage.any():
        vintage = (decades >= 0) & (decades < MODERN)
    out = []
    for era, rows in (("vintage", vintage), ("modern", decades >= MODERN)):
        idx = sorted(np.flatnonzero(rows), key=lambda i: (-score[i], ids[i]))
        right = [i for i in idx if score[i] >= 0.5][:per_group]
        wrong = [i for i in reversed(idx) if score[i] < 0.5][:per_group]
        for kind, chosen in (("right", right), ("wrong", wrong)):
            out += [{"id": ids[i], "era": era, "answer": kind, "decade": int(decades[i]), "jaccard": float(score[i]),
                     "true": [int(j) for j in np.flatnonzero(Y[i])], "predicted": [int(j) for j in np.flatnonzero(pred[i])]}
                    for i in chosen]
    return out
