"""Score fitted models on the held-out test split: the numbers behind `onesheet evaluate`.

Everything here returns plain dicts (written to metrics.json and rendered by report.py):
- per configuration: the pooled model and the per-decade system (each decade's chosen
  model) on all test movies, per-genre tables, and null baselines beside them;
- the train-decade x test-decade matrix (micro/macro F1) with the relative drop from a
  decade model's own decade to the others;
- comparisons: per-decade vs pooled, balanced vs unbalanced, poster vs overview vs fused,
  svm vs nb vs mlp;
- the cross-era check: trained on 1990 and later, tested on earlier decades;
- beside every score, the best constant answer on the same movies (scoring.py), bootstrap
  intervals, and flags where a model does not beat its constant or rests on < 30 movies.
"""

import os
import time

import numpy as np

from store import FeatureStore
from store.version import PACKAGE_VERSION

from ..errors import ClassifierError, NotEnoughDataError
from ..model import balance, choice, metrics
from ..model.baselines import MIN_RELIABLE, constant_answer, small_data_note
from ..model.decades import fit_model, fit_tuned, refitted
from ..model.features import ids_with_features, load_blocks
from ..model.priorshift import MIN_ROWS as PRIOR_ROWS, shifted_summary
from ..model.splits import decade_array, validation
from ..modeldir import ModelDir
from . import scoring
from .scoring import MODERN, columns


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
    out["constant"] = constant_answer(Y_train, Y_test)
    return out


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
        self.X, self.spec = load_blocks(store, spec, self.test_ids)
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


def _matrix(models, data, min_test):
    """{train scope: {test decade: {micro, macro, n} or {n, judged: False}}}."""
    out = {}
    for scope, model in models.items():
        row = {}
        for d, rows in columns(data.decades):
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


def evaluate_config(store, mdir, card, test_ids, min_test, balance_check, options):
    data = _Data(store, card["features"], test_ids)
    genres = card["genres"]
    models = {scope: mdir.load_model(card["name"], scope)[0] for scope in card["models"]}
    P_pool, pred_pool = _predict(models["pooled"], data.X)
    # the per-decade system: each test movie judged by the model its decade chose
    P_sys, pred_sys = P_pool.copy(), pred_pool.copy()
    for d, scope in choice.decade_scopes(card).items():
        rows = data.decades == d
        if rows.any():
            P_sys[rows], pred_sys[rows] = _predict(models[scope], data.X[rows])
    result = {
        "name": card["name"], "head": card["head"], "features": card["features"], "kind": data.spec.kind,
        "n_test": len(data.test_ids),
        "pooled": metrics.summary(data.Y, pred_pool, P_pool),
        "per_decade_system": metrics.summary(data.Y, pred_sys, P_sys),
        "per_genre": metrics.per_genre(data.Y, pred_sys, P_sys, genres),
        "baselines": null_baselines(data.Y_train, data.Y),
        "overall": scoring.scored_against_constant(data.Y, pred_sys, P_sys, data.Y_train),
        "per_decade": scoring.per_decade(data.Y, pred_sys, P_sys, data.decades, data.Y_train, data.train_decades),
        "matrix": _matrix(models, data, min_test),
        "test_decades": {d: int(rows.sum()) for d, rows in columns(data.decades)},
        "examples": scoring.examples(data.test_ids, data.Y, pred_sys, data.decades),
    }
    for row, constant_f1 in zip(result["per_genre"], scoring.per_genre_constant(data.Y)):
        row["constant_f1"] = constant_f1
    result["matrix_constant"] = {d: {"f1_micro": v["constant"].get("f1_micro"), "f1_macro": v["constant"].get("f1_macro")}
                                 for d, v in result["per_decade"].items()}
    result["not_above_constant"] = [d for d, v in result["per_decade"].items() if v["beats_constant"] is False]
    result["drops"] = _drops(result["matrix"])
    if balance_check:
        other = _balance_other(card, data, options)
        result["balance"] = balance.compare(*balance.pair(models["pooled"], other, card.get("balance", True)),
                                            data.X, data.Y, genres)
    return result, data


def _refit(card, data, train_rows, balanced, options):
    """Fit the configuration's head on a subset of its train pool as fit did: thresholds tuned
    on a validation split of the fit's size and seed, then refitted on the whole subset."""
    X_train = data.train_X()
    ids = [data.train_ids[i] for i in train_rows]
    tr_ids, va_ids = validation(ids, data.train_decades[train_rows], options.get("val_size", 0.2),
                                options.get("seed", 0))
    pos = {m: i for i, m in zip(train_rows, ids)}
    tr, va = np.array([pos[m] for m in tr_ids]), np.array([pos[m] for m in va_ids])
    model = fit_tuned(card["head"], X_train, data.Y_train, tr, va, data.spec, balanced, card.get("head_params", {}),
                      data.spec.block_weights(card.get("poster_weight", 1.0)))
    if not options.get("refit", True):
        return model
    return refitted(model, X_train[train_rows], data.Y_train[train_rows])


def _balance_other(card, data, options):
    """The pooled model fitted with the other balancing setting, on the whole train pool.

    fit already tuned that setting's thresholds on validation (``balance_effect``): when it
    did, only the final fit on the train pool is left, exactly as fit would have done it.
    """
    balanced = not card.get("balance", True)
    tuned = card.get("balance_effect", {}).get("other_thresholds")
    if tuned is None or len(tuned) != data.Y.shape[1] or not options.get("refit", True):
        return _refit(card, data, np.arange(len(data.train_ids)), balanced, options)
    return fit_model(card["head"], data.train_X(), data.Y_train, data.spec, balanced, card.get("head_params", {}),
                     data.spec.block_weights(card.get("poster_weight", 1.0)), thresholds=np.asarray(tuned))


def cross_era(card, data, options, split_year=MODERN, min_test=20, prior_shift=False):
    """Train on decades >= split_year, test on the test movies of the same era and of earlier ones.

    ``prior_shift`` also scores the earlier decades after re-estimating the genre priors on
    them by EM (``model.priorshift``), as a dealer would on a collection of vintage posters."""
    modern = np.flatnonzero(data.train_decades >= split_year)
    if len(modern) < 50:
        return None
    model = _refit(card, data, modern, card.get("balance", True), options)
    out = {"train_movies": int(len(modern)), "split_year": split_year}
    Y_modern = data.Y_train[modern]
    for label, rows in (("same_era", data.decades >= split_year), ("earlier", (data.decades < split_year) &
                                                                    (data.decades >= 0))):
        if rows.sum() < min_test:
            out[label] = {"n": int(rows.sum()), "judged": False}
            continue
        P, pred = _predict(model, data.X[rows])
        out[label] = dict(metrics.summary(data.Y[rows], pred, P), judged=True)
        # the constant the era model could know: its own (modern) training genres
        line = scoring.scored_against_constant(data.Y[rows], pred, P, Y_modern)
        out[label].update(constant=line["constant"], ci95=line["ci95"], beats_constant=line["beats_constant"],
                          small=line["small"], **({"warning": line["warning"]} if "warning" in line else {}))
        if prior_shift and label == "earlier":
            out["earlier_prior_shift"] = (
                shifted_summary(model, P, data.Y[rows], data.Y_train[modern].mean(axis=0)) if rows.sum() >= PRIOR_ROWS
                else {"n": int(rows.sum()), "judged": False, "why": f"fewer than {PRIOR_ROWS} movies"})
    if out["same_era"].get("judged") and out["earlier"].get("judged") and out["same_era"]["f1_micro"] > 0 \
            and out["same_era"]["f1_macro"] > 0:
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


def best_choices(results, test_movies):
    """(best name or None, best per input kind, why no best was named)."""
    per_kind = {}
    for c in results:
        k = c["kind"]
        if k not in per_kind or c["per_decade_system"]["f1_micro"] > per_kind[k]["per_decade_system"]["f1_micro"]:
            per_kind[k] = c
    if test_movies < MIN_RELIABLE:
        return None, {k: c["name"] for k, c in per_kind.items()}, (
            f"no best model named: {small_data_note(test_movies, 'the test split')}")
    best = max(results, key=lambda r: r["per_decade_system"]["f1_micro"])
    return best["name"], {k: c["name"] for k, c in per_kind.items()}, ""


def evaluate(store_path, models_dir, min_test=20, balance_check=True, era=True, progress=None, on_config=None,
             refit_comparisons=None, prior_shift=False):
    """Every number of the report, as one dict (also what metrics.json holds).

    ``on_config(result, cross_era)`` is called as each configuration is scored, so a caller
    can show results as they come. ``refit_comparisons``: names of the configurations that get
    the comparisons needing refits (balancing, cross-era); None: every configuration.
    ``prior_shift``: the cross-era check also scores the earlier decades after EM
    re-estimation of the genre priors.
    """
    from featurize.pipeline import no_progress
    progress = progress or no_progress
    mdir = ModelDir.open(models_dir)
    manifest = mdir.manifest
    if not manifest["configs"]:
        raise ClassifierError(f"{models_dir} holds no fitted models; run onesheet fit first")
    test_ids = set(mdir.split().test_ids)
    results, eras = [], {}
    bar = progress("evaluate", len(manifest["configs"]))
    with FeatureStore.open(store_path) as store:
        movies = store.movies()
        for name, card in manifest["configs"].items():
            refits = refit_comparisons is None or name in refit_comparisons
            result, data = evaluate_config(store, mdir, card, test_ids, min_test, balance_check and refits,
                                           mdir.options)
            if era and refits:
                eras[name] = cross_era(card, data, mdir.options, min_test=min_test, prior_shift=prior_shift)
            results.append(result)
            if on_config:
                on_config(result, eras.get(name))
            bar.update(1)
    bar.close()
    best, best_per_kind, refusal = best_choices(results, len(test_ids))
    return {"report_schema_version": 2, "package_version": PACKAGE_VERSION,
            "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "models_manifest_created_at": manifest["created_at"],
            "models_version": mdir.version,
            "store": os.path.abspath(store_path), "models": os.path.abspath(models_dir),
            "genres": manifest["genres"], "min_test": min_test, "min_reliable": MIN_RELIABLE,
            "test_movies": len(test_ids), "configs": results, "comparisons": _comparisons(results),
            "cross_era": eras, "best": best, "best_per_kind": best_per_kind, "best_refused": refusal,
            "movies": _movie_info(movies, {e["id"] for c in results for e in c["examples"]}),
            "not_above_constant": {c["name"]: c["not_above_constant"] for c in results if c["not_above_constant"]}}


def _movie_info(movies, ids):
    """Title, year and poster path of the gallery's movies (the report reads the posters)."""
    out = {}
    for i, m in enumerate(movies["id"]):
        if m in ids:
            out[m] = {"title": movies["title"][i], "year": int(movies["year"][i]), "poster": movies["poster"][i]}
    return out
