"""Multi-label metrics (pure functions on 0/1 label matrices and score matrices)."""

import numpy as np
from sklearn.metrics import f1_score, hamming_loss, precision_score, recall_score, roc_auc_score


def top_class_accuracy(Y, scores):
    """Share of movies whose top-scoring genre is one of their true genres (seed 001)."""
    Y = np.asarray(Y)
    if len(Y) == 0:
        return float("nan")
    top = np.argmax(scores, axis=1)
    return float(Y[np.arange(len(Y)), top].mean())


def top_k_precision_recall(Y, scores, k=3):
    """Precision and recall of the k highest-scoring genres per movie (seed 004)."""
    Y = np.asarray(Y)
    if len(Y) == 0:
        return float("nan"), float("nan")
    k = min(k, Y.shape[1])
    top = np.argsort(-scores, axis=1)[:, :k]
    hits = Y[np.arange(len(Y))[:, None], top].sum(axis=1)
    positives = Y.sum(axis=1)
    precision = float((hits / k).mean())
    recall = float(np.mean(np.where(positives > 0, hits / np.maximum(positives, 1), 0.0)))
    return precision, recall


def summary(Y, pred, scores=None):
    """The headline numbers for one model on one split."""
    Y, pred = np.asarray(Y), np.asarray(pred)
    out = {"n": int(len(Y))}
    if len(Y) == 0:
        return out
    for avg in ("micro", "macro", "samples", "weighted"):
        out[f"f1_{avg}"] = float(f1_score(Y, pred, average=avg, zero_division=0))
    out["precision_micro"] = float(precision_score(Y, pred, average="micro", zero_division=0))
    out["recall_micro"] = float(recall_score(Y, pred, average="micro", zero_division=0))
    out["hamming_loss"] = float(hamming_loss(Y, pred))
    out["subset_accuracy"] = float((Y == pred).all(axis=1).mean())
    if scores is not None:
        out["top_class_accuracy"] = top_class_accuracy(Y, scores)
        out["top3_precision"], out["top3_recall"] = top_k_precision_recall(Y, scores, 3)
    return out


def per_genre(Y, pred, scores, genres):
    """Precision, recall, F1, ROC-AUC and support per genre (seed 002)."""
    Y, pred = np.asarray(Y), np.asarray(pred)
    rows = []
    for j, g in enumerate(genres):
        y, p = Y[:, j], pred[:, j]
        support = int(y.sum())
        auc = float(roc_auc_score(y, scores[:, j])) if 0 < support < len(y) else float("nan")
        rows.append({"genre": g, "support": support,
                     "precision": float(precision_score(y, p, zero_division=0)),
                     "recall": float(recall_score(y, p, zero_division=0)),
                     "f1": float(f1_score(y, p, zero_division=0)), "roc_auc": auc})
    return rows


def minority_recall(Y, pred, genres, share=0.05):
    """Mean recall over genres rarer than ``share`` of the movies (the ones balancing is for)."""
    Y, pred = np.asarray(Y), np.asarray(pred)
    freq = Y.mean(axis=0) if len(Y) else np.zeros(Y.shape[1])
    rare = [j for j in range(Y.shape[1]) if 0 < freq[j] < share]
    if not rare:
        return {"genres": [], "recall": float("nan")}
    rec = [recall_score(Y[:, j], pred[:, j], zero_division=0) for j in rare]
    return {"genres": [genres[j] for j in rare], "recall": float(np.mean(rec))}
