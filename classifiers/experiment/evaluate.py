"""Score fitted models on the held-out test split: the numbers behind `onesheet evaluate`.

Everything here returns plain dicts (written to metrics.json and rendered by report.py):
- per configuration: the pooled model and the per-decade system (each decade's chosen
  model) on all test movies, per-genre tables, and null baselines beside them;
- the train-decade x test-decade matrix (micro/macro F1) with the relative drop from a
  decade model's own decade to the others;
- comparisons: per-decade vs pooled, balanced vs unbalanced, poster vs overview vs fused,
  svm vs nb vs mlp;
- the cross-era check: trained on 1990 and later, tested on earlier decades.
"""

import json
import os
import time

import numpy as np

from store import FeatureStore
from store.version import PACKAGE_VERSION

from ..model import metrics
from ..modeldir import persist
from ..model.decades import SPLIT, block_weights, fit_model, read_manifest, refit_keeping_thresholds, tune
from ..errors import ClassifierError, NotEnoughDataError
from ..model.features import ids_with_features, load_blocks, parse_spec
from ..model.priorshift import shifted_summary
from ..model.splits import decade_array, validation


def null_baselines(Y_train, Y_test):
    """All-negative, most-frequent-genres, and always-the-most-frequent-genre top-class accuracy."""
    freq = Y_train.mean(axis=0)
    k = max(1, int(round(Y_train.sum(axis=1).mean())))
    top_k = np.argsort(-freq)[:k]
    frequent = np.zeros_like(Y_test)
    frequent[:, top_k] = 1
    scores = np.tile(freq, (len(Y_test), 1))
    out = {"all_negative": metrics.summary(Y_test, np.zeros_like(Y_test)),
           f"most_frequent_{k}": metrics.summary(Y_test, frequent, scores)}
    out["all_negative"]["top_class_accuracy"] = metrics.top_class_accuracy(Y_test, scores)
    out["most_frequent_genre_top_class_accuracy"] = metrics.top_class_accuracy(Y_test, scores)
    out["most_frequent_genres"] = [int(j) for j in top_k]
    return out


def _kind(spec):
    names = parse_spec(spec)
    kinds = {n.split("/")[0] for n in names}
    return "fused" if len(kinds) > 1 else ("poster" if "poster" in kinds else "overview")


class _Data:
    """Features, labels and decades of a configuration's train pool and test split."""

    def __init__(self, store, spec, test_ids):
        ids = ids_with_features(store, spec)
        labelled = store.labels(ids).sum(axis=1) > 0
        ids = [m for m, keep in zip(ids, labelled) if keep]
        self.test_ids = [m for m in ids if m in test_ids]
        self.train_ids = [m for m in ids if m not in test_ids]
        if not self.test_ids:
            raise NotEnoughDataError(f"{spec}: no labelled test movies; was the store changed after fit?")
        self.X, self.widths, self.kinds = load_blocks(store, spec, self.test_ids)
        self.Y = store.labels(self.test_ids)
        self.decades = decade_array(store, self.test_ids)
        self.Y_train = store.labels(self.train_ids)
        self.train_decades = decade_array(store, self.train_ids)
        self._store, self._spec = store, spec

    def train_X(self):
        if not hasattr(self, "_train_X"):
            self._train_X = load_blocks(self._store, self._spec, self.train_ids)[0]
        return self._train_X


def _predict(model, X):
    P = model.predict_proba(X)
    return P, (P >= model[-1].thresholds_).astype(np.uint8)


VINTAGE = 1960  # decades before this are scarce; the matrix also judges them together


def _columns(data):
    """Test columns: every decade, plus all vintage decades (before 1960) taken together."""
    cols = [(str(d), data.decades == d) for d in sorted(set(int(d) for d in data.decades if d >= 0))]
    vintage = (data.decades >= 0) & (data.decades < VINTAGE)
    if vintage.any():
        cols.append((f"<{VINTAGE}", vintage))
    return cols


def _matrix(models, data, min_test):
    """{train scope: {test decade: {micro, macro, n} or {n, judged: False}}}."""
    out = {}
    for scope, model in models.items():
        row = {}
        for d, rows in _columns(data):
            n = int(rows.sum())
            if n < min_test:
                row[str(d)] = {"n": n, "judged": False}
                continue
            _, pred = _predict(model, data.X[rows])
            s = metrics.summary(data.Y[rows], pred)
            row[str(d)] = {"n": n, "judged": True, "f1_micro": s["f1_micro"], "f1_macro": s["f1_macro"]}
        out[scope] = row
    return out


def _drops(matrix):
    """Relative drop from a decade model's own decade to the mean of the other judged decades."""
    out = {}
    for scope, row in matrix.items():
        if scope == "pooled" or not row.get(scope, {}).get("judged"):
            continue
        same = row[scope]["f1_micro"]
        others = [c["f1_micro"] for d, c in row.items() if d != scope and c.get("judged") and not d.startswith("<")]
        if others and same:
            out[scope] = {"same_decade": same, "other_decades": float(np.mean(others)),
                          "relative_drop": float((same - np.mean(others)) / same)}
    return out


def evaluate_config(store, models_dir, card, test_ids, encoders, min_test, balance_check):
    data = _Data(store, card["features"], test_ids)
    genres = card["genres"]
    models = {scope: persist.load(os.path.join(models_dir, rel), expected_features=encoders)[0]
              for scope, rel in card["models"].items()}
    P_pool, pred_pool = _predict(models["pooled"], data.X)
    # the per-decade system: each test movie judged by the model its decade chose
    P_sys, pred_sys = P_pool.copy(), pred_pool.copy()
    for d, choice in card["choice"].items():
        if choice.get("use") == "decade" and d in models:
            rows = data.decades == int(d)
            if rows.any():
                P_sys[rows], pred_sys[rows] = _predict(models[d], data.X[rows])
    result = {
        "name": card["name"], "head": card["head"], "features": card["features"], "kind": _kind(card["features"]),
        "n_test": len(data.test_ids),
        "pooled": metrics.summary(data.Y, pred_pool, P_pool),
        "per_decade_system": metrics.summary(data.Y, pred_sys, P_sys),
        "per_genre": metrics.per_genre(data.Y, pred_sys, P_sys, genres),
        "baselines": null_baselines(data.Y_train, data.Y),
        "matrix": _matrix(models, data, min_test),
        "test_decades": {d: int(rows.sum()) for d, rows in _columns(data)},
    }
    result["drops"] = _drops(result["matrix"])
    if balance_check:
        result["balance"] = _balance_comparison(card, data, models["pooled"], genres)
    return result, data


def _refit(card, data, train_rows, balance):
    """Fit the configuration's head on a subset of its train pool (thresholds on a val split)."""
    X_train = data.train_X()
    ids = [data.train_ids[i] for i in train_rows]
    decades = data.train_decades[train_rows]
    tr_ids, va_ids = validation(ids, decades, 0.2, 0)
    pos = {m: i for i, m in zip(train_rows, ids)}
    tr, va = [pos[m] for m in tr_ids], [pos[m] for m in va_ids]
    params = card.get("head_params", {})
    weights = block_weights(card["features"], card.get("poster_weight", 1.0))
    model = tune(fit_model(card["head"], X_train[tr], data.Y_train[tr], data.widths, data.kinds, balance, params,
                           weights), X_train[va], data.Y_train[va])
    # refit on train + val, as fit does
    return refit_keeping_thresholds(model, X_train[train_rows], data.Y_train[train_rows])


def _balance_comparison(card, data, pooled, genres):
    """Test-set minority recall and macro-F1 of the pooled model with and without balancing."""
    other = _refit(card, data, np.arange(len(data.train_ids)), not card.get("balance", True))
    out = {}
    for label, model in (("balanced", pooled), ("unbalanced", other)) if card.get("balance", True) \
            else (("balanced", other), ("unbalanced", pooled)):
        _, pred = _predict(model, data.X)
        mr, s = metrics.minority_recall(data.Y, pred, genres), metrics.summary(data.Y, pred)
        out[label] = {"minority_recall": mr["recall"], "f1_macro": s["f1_macro"], "f1_micro": s["f1_micro"]}
        out["minority_genres"] = mr["genres"]
    return out


def cross_era(card, data, split_year=1990, min_test=20, prior_shift=False):
    """Train on decades >= split_year, test on the test movies of the same era and of earlier ones.

    ``prior_shift`` also scores the earlier decades after re-estimating the genre priors on
    them by EM (``model.priorshift``), as a dealer would on a collection of vintage posters."""
    modern = np.flatnonzero(data.train_decades >= split_year)
    if len(modern) < 50:
        return None
    model = _refit(card, data, modern, card.get("balance", True))
    out = {"train_movies": int(len(modern)), "split_year": split_year}
    for label, rows in (("same_era", data.decades >= split_year), ("earlier", (data.decades < split_year) &
                                                                    (data.decades >= 0))):
        if rows.sum() < min_test:
            out[label] = {"n": int(rows.sum()), "judged": False}
            continue
        P, pred = _predict(model, data.X[rows])
        out[label] = dict(metrics.summary(data.Y[rows], pred, P), judged=True)
        if prior_shift and label == "earlier":
            out["earlier_prior_shift"] = shifted_summary(model, P, data.Y[rows], data.Y_train[modern].mean(axis=0))
    if out["same_era"].get("judged") and out["earlier"].get("judged"):
        same, early = out["same_era"]["f1_micro"], out["earlier"]["f1_micro"]
        out["relative_drop_micro"] = float((same - early) / same)
        out["relative_drop_macro"] = float((out["same_era"]["f1_macro"] - out["earlier"]["f1_macro"])
                                           / out["same_era"]["f1_macro"])
    return out


def _comparisons(configs):
    """Answers to the seeds' questions, from the configurations that were fitted."""
    def pick(cs):
        return {c["name"]: {"f1_micro": c["per_decade_system"]["f1_micro"],
                            "f1_macro": c["per_decade_system"]["f1_macro"]} for c in cs}
    by_kind = {}
    for c in configs:
        if c["head"] == "svm":
            by_kind.setdefault(c["kind"], []).append(c)
    heads = {}
    for c in configs:
        heads.setdefault(c["head"], []).append(c)
    return {
        "per_decade_vs_pooled": {c["name"]: {"per_decade": c["per_decade_system"]["f1_micro"],
                                             "pooled": c["pooled"]["f1_micro"],
                                             "per_decade_macro": c["per_decade_system"]["f1_macro"],
                                             "pooled_macro": c["pooled"]["f1_macro"]} for c in configs},
        "balancing": {c["name"]: c["balance"] for c in configs if "balance" in c},
        "poster_vs_overview_vs_fused": {k: pick(v) for k, v in by_kind.items()},
        "heads": {h: pick(v) for h, v in heads.items()},
    }


def evaluate(store_path, models_dir, min_test=20, balance_check=True, era=True, progress=None, prior_shift=False):
    """Every number of the report, as one dict (also what metrics.json holds)."""
    from featurize.pipeline import no_progress
    progress = progress or no_progress
    manifest = read_manifest(models_dir)
    if not manifest or not manifest.get("configs"):
        raise ClassifierError(f"{models_dir} holds no fitted models; run onesheet fit first")
    with open(os.path.join(models_dir, SPLIT)) as f:
        test_ids = set(json.load(f)["test_ids"])
    results, eras = [], {}
    bar = progress("evaluate", len(manifest["configs"]))
    with FeatureStore.open(store_path) as store:
        for name, card in manifest["configs"].items():
            result, data = evaluate_config(store, models_dir, card, test_ids, manifest["encoders"], min_test,
                                           balance_check)
            if era:
                eras[name] = cross_era(card, data, min_test=min_test, prior_shift=prior_shift)
            results.append(result)
            bar.update(1)
    bar.close()
    best = max(results, key=lambda r: r["per_decade_system"]["f1_micro"])
    return {"report_schema_version": 1, "package_version": PACKAGE_VERSION,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "models_manifest_created_at": manifest["created_at"],
            "store": os.path.abspath(store_path), "models": os.path.abspath(models_dir),
            "genres": manifest["genres"], "min_test": min_test, "test_movies": len(test_ids),
            "configs": results, "comparisons": _comparisons(results), "cross_era": eras, "best": best["name"]}
