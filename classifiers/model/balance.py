"""The balanced-vs-unbalanced comparison, in one place (fit on validation, evaluate on test).

Fit keeps the model with the configured balancing; the comparison fits the other one, and
both are judged the same way: minority-genre recall at tuned thresholds and at each head's
own untuned rule, and micro/macro F1.
"""

import numpy as np

from . import metrics


def pair(model, other, balance):
    """(balanced, unbalanced) from the configured model and the one fitted the other way."""
    return (model, other) if balance else (other, model)


def compare(balanced, unbalanced, X, Y, genres):
    out = {}
    for label, model in (("balanced", balanced), ("unbalanced", unbalanced)):
        P = model.predict_proba(X)
        tuned = (P >= model[-1].thresholds_).astype(np.uint8)
        untuned = (P >= model[-1].default_thresholds_).astype(np.uint8)
        s = metrics.summary(Y, tuned)
        out[label] = {"minority_recall": metrics.minority_recall(Y, tuned, genres)["recall"],
                      "minority_recall_untuned": metrics.minority_recall(Y, untuned, genres)["recall"],
                      "f1_macro": s["f1_macro"], "f1_micro": s["f1_micro"]}
    out["minority_genres"] = metrics.minority_recall(Y, Y, genres)["genres"]
    return out
