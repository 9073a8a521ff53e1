"""Fit one model per decade plus a pooled one, for each (head, feature spec) configuration.

Protocol, in this order:
1. a seeded, decade-stratified test split is held out and recorded (``split.json``); it is
   never used for fitting, tuning or choosing (``onesheet evaluate`` scores only it);
2. the rest is split again into train and validation, per decade;
3. the pooled model trains on every decade's train rows; a decade with at least
   ``min_movies`` labelled movies outside the test split also gets its own model;
4. each model's per-genre thresholds are tuned for F1 on its validation rows;
5. for each decade, its own model and the pooled one are compared on that decade's
   validation rows; prediction uses the better one. A decade with too few movies for its
   own model, or too few validation rows to judge (``min_val``), uses the pooled model;
6. with ``refit`` (the default) each model is then refitted on train + validation rows,
   keeping the thresholds and choices made on validation: 25% more data for the final model.
"""

import json
import os
import time
import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from featurize.online import save_encoders
from store import FeatureStore
from store.version import PACKAGE_VERSION

from . import metrics
from ..modeldir import persist
from ..errors import NotEnoughDataError
from .features import BlockScaler, ids_with_features, load_blocks, parse_spec, spec_tag
from .heads import make_head
from .splits import decade_array, holdout, validation
from .thresholds import tune_thresholds

POSTER = "poster/efficientnet-lite0"
TEXT = "overview/tfidf+overview/glove-6b-50d+overview/minilm"
FUSED = f"{POSTER}+{TEXT}"
# What `onesheet fit` trains with no flags: the best model for each kind of input a
# prediction may have (see README, "Which head and features"): poster and overview, a
# bare JPEG, and an overview whose poster is missing or broken.
DEFAULT_CONFIGS = (("svm", FUSED), ("svm", POSTER), ("svm", TEXT))
# The whole poster in one pass beat the centre crop on validation (README, "Accuracy levers"):
# the defaults use it wherever the store holds it (`onesheet run` computes it).
FULL_POSTER = "poster/efficientnet-lite0-full"


def with_best_poster(configs, features):
    """``configs`` with POSTER replaced by FULL_POSTER when ``features`` (the store's) include it."""
    if FULL_POSTER not in features:
        return list(configs)
    return [(head, "+".join(FULL_POSTER if n == POSTER else n for n in parse_spec(spec))) for head, spec in configs]
# What the main job adds so the report can compare heads: NB on counts, MLP on dense features.
COMPARISON_CONFIGS = (("nb", "overview/bow"), ("mlp", "poster/efficientnet-lite0+overview/glove-6b-50d"))
MANIFEST = "manifest.json"
SPLIT = "split.json"


@dataclass
class FitOptions:
    decades: list = None          # None: every decade in the store
    min_movies: int = 150         # a decade needs this many non-test movies for its own model
    min_val: int = 20             # validation rows needed to judge decade vs pooled
    test_size: float = 0.2
    val_size: float = 0.2
    seed: int = 0
    balance: bool = True
    compare_balance: bool = True  # also fit the pooled model unbalanced, to report what balancing buys
    refit: bool = True            # refit on train + validation after tuning thresholds
    # a fused (poster + overview) linear model tries these weights for the poster blocks and
    # keeps the best on validation (the MLP learns its own input scaling; NB has no use for it)
    poster_weights: tuple = (0.35, 0.5, 0.7, 1.0)
    head_params: dict = field(default_factory=dict)


def config_name(head, spec):
    return f"{head}__{spec_tag(spec)}"


def _pipeline(head, widths, kinds, balance, params, weights=None):
    return Pipeline([("scale", BlockScaler(widths, kinds, weights)), ("head", make_head(head, balance=balance, **params))])


def block_weights(spec, poster_weight):
    """Per-block weights: ``poster_weight`` for poster blocks, 1 for the rest (None when all 1)."""
    if poster_weight == 1.0:
        return None
    return [poster_weight if n.startswith("poster/") else 1.0 for n in parse_spec(spec)]


def is_fused(spec):
    return len({n.split("/")[0] for n in parse_spec(spec)}) > 1


def fit_model(head, X, Y, widths, kinds, balance, params, weights=None):
    model = _pipeline(head, widths, kinds, balance, params, weights)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(X, Y)
    return model


def tune(model, Xv, Yv):
    P = model.predict_proba(Xv)
    model[-1].set_thresholds(tune_thresholds(Yv, P))
    return model


def score(model, X, Y):
    if X.shape[0] == 0:
        return {"n": 0}
    P = model.predict_proba(X)
    return metrics.summary(Y, (P >= model[-1].thresholds_).astype(np.uint8), P)


def refit_keeping_thresholds(model, X, Y):
    """The same pipeline (head, parameters, block weights) refitted on X, Y, with the
    thresholds ``model`` had tuned on validation."""
    final = clone(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        final.fit(X, Y)
    final[-1].set_thresholds(model[-1].thresholds_)
    return final


def _load_split(directory, opts):
    path = os.path.join(directory, SPLIT)
    if os.path.exists(path):
        with open(path) as f:
            split = json.load(f)
        if split.get("seed") == opts.seed and split.get("test_size") == opts.test_size:
            return set(split["test_ids"]), set(split["seen_ids"])
    return None, set()


def make_split(store, directory, opts, ids):
    """The held-out test ids, recorded in ``split.json``.

    A later fit into the same directory keeps every earlier assignment (so all models share
    one test set); movies it has not seen before are assigned by the same seeded hash rule.
    """
    recorded, seen = _load_split(directory, opts)
    _, fresh = holdout(ids, decade_array(store, ids), opts.test_size, opts.seed)
    test = set(fresh) if recorded is None else (recorded | {m for m in fresh if m not in seen})
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, SPLIT), "w") as f:
        json.dump({"schema_version": persist.MODEL_SCHEMA_VERSION, "package_version": PACKAGE_VERSION,
                   "seed": opts.seed, "test_size": opts.test_size, "stratified_by": "decade",
                   "test_ids": sorted(test), "seen_ids": sorted(seen | set(ids))}, f)
    return test


def fit_config(store, directory, head, spec, test_ids, opts, progress):
    """Fit and save every model of one configuration; returns its card (also in the manifest)."""
    name = config_name(head, spec)
    genres = store.genres()
    ids = [m for m in ids_with_features(store, spec) if m not in test_ids]
    ids = [m for m, y in zip(ids, store.labels(ids)) if y.any()]  # unlabelled movies cannot teach
    if len(ids) < 20:
        raise NotEnoughDataError(f"{spec}: only {len(ids)} labelled movies outside the test split")
    decades = decade_array(store, ids)
    train_ids, val_ids = validation(ids, decades, opts.val_size, opts.seed)
    X, widths, kinds = load_blocks(store, spec, ids)
    Y = store.labels(ids)
    pos = {m: i for i, m in enumerate(ids)}
    tr = np.array([pos[m] for m in train_ids])
    va = np.array([pos[m] for m in val_ids])
    card = {"name": name, "head": head, "features": spec, "genres": genres, "models": {}, "choice": {},
            "balance": opts.balance, "head_params": opts.head_params}
    wanted = sorted(set(int(d) for d in decades if d >= 0) if opts.decades is None else opts.decades)
    bar = progress(name, 1 + len(wanted) + int(opts.compare_balance))
    common = {"config": name, "head": head, "genres": genres, "refitted_on_train_and_val": opts.refit,
              "features": {n: store.provenance(n) for n in parse_spec(spec)}}

    def save(scope, model, rows_tr, rows_va, validation_metrics, t0, **extra):
        """Refit on train + validation rows, then write the model with its sidecar card."""
        both = np.concatenate([rows_tr, rows_va])
        if opts.refit:
            model = refit_keeping_thresholds(model, X[both], Y[both])
        card["models"][scope] = _save(directory, name, scope, model, dict(
            common, scope="pooled" if scope == "pooled" else "decade", n_train=int(len(rows_tr)),
            n_val=int(len(rows_va)), train_genre_counts=dict(zip(genres, map(int, Y[both].sum(axis=0)))),
            thresholds=list(model[-1].thresholds_), validation=validation_metrics,
            constant_genres=[genres[j] for j in model[-1].constant_genres_],
            fit_seconds=time.perf_counter() - t0, **extra))
        return model

    t0 = time.perf_counter()
    pooled, pooled_val, weight = _pooled_with_best_weight(head, spec, X, Y, tr, va, widths, kinds, opts, card)
    weights = block_weights(spec, weight)
    if opts.compare_balance:
        card["balance_effect"] = _balance_effect(head, X, Y, tr, va, widths, kinds, opts, pooled, genres, weights)
        bar.update(1)
    save("pooled", pooled, tr, va, pooled_val, t0, training_decades=sorted(set(int(d) for d in decades[tr])))
    bar.update(1)

    for d in wanted:
        in_d = decades == d
        tr_d, va_d = tr[in_d[tr]], va[in_d[va]]
        pooled_d = score(pooled, X[va_d], Y[va_d])
        entry = {"movies": int(in_d.sum()), "n_train": int(len(tr_d)), "n_val": int(len(va_d)),
                 "val_f1_micro_pooled": pooled_d.get("f1_micro")}
        if entry["movies"] < opts.min_movies:
            entry.update(use="pooled", reason=f"{entry['movies']} movies < min_movies {opts.min_movies}")
        else:
            t0 = time.perf_counter()
            model = tune(fit_model(head, X[tr_d], Y[tr_d], widths, kinds, opts.balance, opts.head_params, weights),
                         X[va_d], Y[va_d])
            own = score(model, X[va_d], Y[va_d])
            model = save(str(d), model, tr_d, va_d, own, t0, decade=d, training_decades=[d])
            entry["val_f1_micro_decade"] = own.get("f1_micro")
            missing = [genres[j] for j in model[-1].constant_genres_]
            if missing:
                entry["warning"] = f"no training example of {', '.join(missing)}: this model always answers no"
            entry.update(_choose(own, pooled_d, len(va_d), opts))
        card["choice"][str(d)] = entry
        bar.update(1)
    bar.close()
    card["validation"] = pooled_val
    return card


def _choose(own, pooled, n_val, opts):
    """Which model a decade uses, and why (decided on that decade's validation rows)."""
    if n_val < opts.min_val:
        return {"use": "pooled", "reason": f"only {n_val} validation movies (< {opts.min_val}) to judge"}
    if own["f1_micro"] > pooled["f1_micro"]:
        return {"use": "decade", "reason": "decade model better on this decade's validation rows"}
    return {"use": "pooled", "reason": "pooled model at least as good on this decade's validation rows"}


def _pooled_with_best_weight(head, spec, X, Y, tr, va, widths, kinds, opts, card):
    """The pooled model (thresholds tuned); for fused specs, at the poster weight best on validation."""
    grid = opts.poster_weights if is_fused(spec) and head == "svm" else (1.0,)
    best = None
    for w in grid:
        model = tune(fit_model(head, X[tr], Y[tr], widths, kinds, opts.balance, opts.head_params,
                               block_weights(spec, w)), X[va], Y[va])
        val = score(model, X[va], Y[va])
        card.setdefault("poster_weight_validation", {})[str(w)] = val["f1_micro"]
        if best is None or val["f1_micro"] > best[1]["f1_micro"]:
            best = (model, val, w)
    card["poster_weight"] = best[2]
    return best


def _balance_effect(head, X, Y, tr, va, widths, kinds, opts, balanced, genres, weights=None):
    """Minority-genre recall on validation with and without class balancing (pooled model),
    with tuned thresholds and with each head's own untuned decision rule."""
    other = tune(fit_model(head, X[tr], Y[tr], widths, kinds, not opts.balance, opts.head_params, weights),
                 X[va], Y[va])
    out = {}
    for label, model in (("balanced", balanced if opts.balance else other),
                         ("unbalanced", other if opts.balance else balanced)):
        P = model.predict_proba(X[va])
        tuned = (P >= model[-1].thresholds_).astype(np.uint8)
        untuned = (P >= model[-1].default_thresholds_).astype(np.uint8)
        out[label] = {"minority_recall": metrics.minority_recall(Y[va], tuned, genres)["recall"],
                      "minority_recall_untuned": metrics.minority_recall(Y[va], untuned, genres)["recall"],
                      "f1_macro": metrics.summary(Y[va], tuned)["f1_macro"]}
    out["minority_genres"] = metrics.minority_recall(Y[va], Y[va], genres)["genres"]
    return out


def _save(directory, config, scope, model, card):
    path = os.path.join(directory, config, f"{scope}.joblib")
    persist.save(model, path, card)
    return os.path.relpath(path, directory)


def read_manifest(directory):
    path = os.path.join(directory, MANIFEST)
    if not os.path.exists(path):
        return None
    with open(path) as f:
        return json.load(f)


def fit(store_path, directory, configs=DEFAULT_CONFIGS, options=None, progress=None, best_poster=None):
    """Fit every (head, spec) configuration into ``directory``; returns the manifest.

    ``best_poster`` (default: when ``configs`` are the defaults) swaps in the whole-poster
    embedding where the store holds it (``with_best_poster``)."""
    from featurize.pipeline import no_progress
    opts = options or FitOptions()
    progress = progress or no_progress
    os.makedirs(directory, exist_ok=True)
    with FeatureStore.open(store_path) as store:
        if best_poster or (best_poster is None and configs is DEFAULT_CONFIGS):
            configs = with_best_poster(configs, store.features())
        usable = {m for _, spec in configs for m in ids_with_features(store, spec)}
        test_ids = make_split(store, directory, opts, [m for m in store.ids() if m in usable])
        manifest = read_manifest(directory) or {"configs": {}}
        names = sorted({n for _, spec in configs for n in parse_spec(spec)})
        encoders = save_encoders(store, names, os.path.join(directory, "encoders"))
        for head, spec in configs:
            card = fit_config(store, directory, head, spec, test_ids, opts, progress)
            manifest["configs"][card["name"]] = card
        manifest.update(schema_version=persist.MODEL_SCHEMA_VERSION, package_version=PACKAGE_VERSION,
                        created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), store=os.path.abspath(store_path),
                        genres=store.genres(), split=SPLIT, test_movies=len(test_ids),
                        encoders={**manifest.get("encoders", {}), **encoders})
    with open(os.path.join(directory, MANIFEST), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True, default=str)
    return manifest
