"""Fit one model per decade plus a pooled one, for each (head, feature spec) configuration.

Protocol, in this order:
1. a seeded, decade-stratified test split is held out and recorded (``split.json``); it is
   never used for fitting, tuning or choosing (``onesheet evaluate`` scores only it);
2. the rest is split again into train and validation, per decade;
3. the pooled model trains on every decade's train rows; a decade with at least
   ``min_movies`` labelled movies outside the test split also gets its own model;
4. each model's per-genre thresholds are tuned for F1 on its validation rows;
5. for each decade, its own model and the pooled one are compared on that decade's
   validation rows (``choice.decide``); prediction uses the better one;
6. with ``refit`` (the default) each model is then refitted on train + validation rows
   (``clone`` keeps the tuned thresholds, which are a head parameter): 25% more data.

Everything is written into a new version of the model directory (``modeldir``), made
current only when complete.
"""

import time
import warnings
from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.pipeline import Pipeline

from store import FeatureStore

from . import balance, choice, metrics
from .baselines import validation_comparison
from ..errors import ModelDirError, NotEnoughDataError
from ..modeldir import ModelDir, VersionWriter
from ..modeldir import legacy
from ..modeldir.encoders import write_encoders
from ..modeldir.layout import SPLIT
from .features import BlockScaler, ids_with_features, load_blocks
from .heads import make_head
from .results import ConfigResult, FitResult
from .spec import FeatureSpec
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
    return [(head, "+".join(FULL_POSTER if n == POSTER else n for n in FeatureSpec.parse(spec).names))
            for head, spec in configs]


# What the main job adds so the report can compare heads: NB on counts, MLP on dense features.
COMPARISON_CONFIGS = (("nb", "overview/bow"), ("mlp", "poster/efficientnet-lite0+overview/glove-6b-50d"))


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
    return f"{head}__{FeatureSpec.parse(spec).tag}"


def fit_model(head, X, Y, spec, balance, params, weights=None, thresholds=None):
    """A fresh pipeline (block scaler + head) fitted on X, Y; ``spec`` carries the block layout."""
    model = Pipeline([("scale", BlockScaler(list(spec.widths), list(spec.kinds), weights)),
                      ("head", make_head(head, balance=balance, thresholds=thresholds, **params))])
    return _fit(model, X, Y)


def _fit(model, X, Y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, Y)


def tune(model, Xv, Yv):
    """Per-genre thresholds tuned for F1 on validation rows, set as the head's parameter."""
    return model.set_params(head__thresholds=tune_thresholds(Yv, model.predict_proba(Xv)))


def refitted(model, X, Y):
    """The same pipeline (head, parameters, block weights, thresholds) fitted again on X, Y."""
    return _fit(clone(model), X, Y)


def fit_tuned(head, X, Y, tr, va, spec, balance, params, weights=None):
    """Fit on rows ``tr``, tune thresholds on rows ``va`` (the protocol's steps 3-4)."""
    return tune(fit_model(head, X[tr], Y[tr], spec, balance, params, weights), X[va], Y[va])


def score(model, X, Y):
    if X.shape[0] == 0:
        return {"n": 0}
    P = model.predict_proba(X)
    return metrics.summary(Y, (P >= model[-1].thresholds_).astype(np.uint8), P)


def previous_version(directory):
    """The current version of ``directory`` if every file verifies, else None (the fit starts afresh)."""
    try:
        return ModelDir.open(directory)
    except ModelDirError:
        return None


def make_split(store, previous, directory, opts, ids):
    """(test ids, split record): the held-out test ids.

    A later fit into the same directory keeps every earlier assignment (so all models share
    one test set); movies it has not seen before are assigned by the same seeded hash rule.
    """
    recorded, seen = None, set()
    old = None
    if previous is not None:
        s = previous.split()
        old = {"seed": s.seed, "test_size": s.test_size, "test_ids": s.test_ids, "seen_ids": s.seen_ids}
    else:
        old = legacy.read_split(directory)  # a v1 directory: keep its test split
    if old and old.get("seed") == opts.seed and old.get("test_size") == opts.test_size:
        recorded, seen = set(old["test_ids"]), set(old.get("seen_ids", ()))
    _, fresh = holdout(ids, decade_array(store, ids), opts.test_size, opts.seed)
    test = set(fresh) if recorded is None else (recorded | {m for m in fresh if m not in seen})
    return test, {"seed": opts.seed, "test_size": opts.test_size, "stratified_by": "decade",
                  "test_ids": sorted(test), "seen_ids": sorted(seen | set(ids))}


def fit_config(store, writer, head, spec, test_ids, opts, progress):
    """Fit and write every model of one configuration; returns its card (kept in the manifest)."""
    spec = FeatureSpec.parse(spec)
    name = config_name(head, spec)
    genres = store.genres()
    ids = [m for m in ids_with_features(store, spec) if m not in test_ids]
    ids = [m for m, y in zip(ids, store.labels(ids)) if y.any()]  # unlabelled movies cannot teach
    if len(ids) < 20:
        raise NotEnoughDataError(f"{spec}: only {len(ids)} labelled movies outside the test split")
    decades = decade_array(store, ids)
    train_ids, val_ids = validation(ids, decades, opts.val_size, opts.seed)
    X, spec = load_blocks(store, spec, ids)
    Y = store.labels(ids)
    pos = {m: i for i, m in enumerate(ids)}
    tr = np.array([pos[m] for m in train_ids])
    va = np.array([pos[m] for m in val_ids])
    card = {"name": name, "head": head, "features": spec.text, "widths": list(spec.widths), "genres": genres,
            "models": {}, "choice": {}, "balance": opts.balance, "head_params": opts.head_params,
            "refitted_on_train_and_val": opts.refit,
            "features_provenance": {n: store.provenance(n) for n in spec.names}}
    wanted = sorted(set(int(d) for d in decades if d >= 0) if opts.decades is None else opts.decades)
    bar = progress(name, 1 + len(wanted) + int(opts.compare_balance))

    def save(scope, model, rows_tr, rows_va, validation_metrics, t0, **extra):
        """Refit on train + validation rows, then write the model; its card goes into the manifest."""
        both = np.concatenate([rows_tr, rows_va])
        if opts.refit:
            model = refitted(model, X[both], Y[both])
        card["models"][scope] = dict(
            file=writer.write_model(name, scope, model), scope="pooled" if scope == "pooled" else "decade",
            n_train=int(len(rows_tr)), n_val=int(len(rows_va)),
            train_genre_counts=dict(zip(genres, map(int, Y[both].sum(axis=0)))),
            thresholds=list(model[-1].thresholds_), validation=validation_metrics,
            constant_genres=[genres[j] for j in model[-1].constant_genres_],
            fit_seconds=time.perf_counter() - t0, **extra)
        return model

    t0 = time.perf_counter()
    pooled, pooled_val, weight = _pooled_with_best_weight(head, spec, X, Y, tr, va, opts, card)
    weights = spec.block_weights(weight)
    if opts.compare_balance:
        other = fit_tuned(head, X, Y, tr, va, spec, not opts.balance, opts.head_params, weights)
        card["balance_effect"] = balance.compare(*balance.pair(pooled, other, opts.balance), X[va], Y[va], genres)
        # evaluate refits the other setting on the train pool with these thresholds (no second tuning)
        card["balance_effect"]["other_thresholds"] = [float(t) for t in other[-1].thresholds_]
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
            entry.update(choice.too_few_movies(entry["movies"], opts.min_movies))
        else:
            t0 = time.perf_counter()
            model = fit_tuned(head, X, Y, tr_d, va_d, spec, opts.balance, opts.head_params, weights)
            own = score(model, X[va_d], Y[va_d])
            model = save(str(d), model, tr_d, va_d, own, t0, decade=d, training_decades=[d])
            entry["val_f1_micro_decade"] = own.get("f1_micro")
            missing = [genres[j] for j in model[-1].constant_genres_]
            if missing:
                entry["warning"] = f"no training example of {', '.join(missing)}: this model always answers no"
            entry.update(choice.decide(own, pooled_d, len(va_d), opts.min_val))
        answer = entry.get("val_f1_micro_decade") if entry["use"] == "decade" else entry["val_f1_micro_pooled"]
        entry.update(validation_comparison(answer, Y[tr_d] if len(tr_d) else Y[tr], Y[va_d]))
        card["choice"][str(d)] = entry
        bar.update(1)
    bar.close()
    card["validation"] = pooled_val
    card["validation_constant"] = validation_comparison(pooled_val.get("f1_micro"), Y[tr], Y[va])
    return card


def _pooled_with_best_weight(head, spec, X, Y, tr, va, opts, card):
    """The pooled model (thresholds tuned); for fused specs, at the poster weight best on validation."""
    grid = opts.poster_weights if spec.is_fused and head == "svm" else (1.0,)
    best = None
    for w in grid:
        model = fit_tuned(head, X, Y, tr, va, spec, opts.balance, opts.head_params, spec.block_weights(w))
        val = score(model, X[va], Y[va])
        card.setdefault("poster_weight_validation", {})[str(w)] = val["f1_micro"]
        if best is None or val["f1_micro"] > best[1]["f1_micro"]:
            best = (model, val, w)
    card["poster_weight"] = best[2]
    return best


def _carry_configs(writer, previous, refitting):
    """Configurations of the previous version that this fit does not redo, with their files."""
    kept = {}
    for name, card in (previous.configs.items() if previous is not None else ()):
        if name in refitting:
            continue
        for entry in card["models"].values():
            writer.carry(previous, entry["file"])
        kept[name] = card
    return kept


def fit(store_path, directory, configs=DEFAULT_CONFIGS, options=None, progress=None, best_poster=None):
    """Fit every (head, spec) configuration into a new version of ``directory``; returns a FitResult.

    Configurations fitted earlier into the same directory (and not refitted now) are kept.
    ``best_poster`` (default: when ``configs`` are the defaults) swaps in the whole-poster
    embedding where the store holds it (``with_best_poster``).
    """
    from featurize.pipeline import no_progress
    opts = options or FitOptions()
    progress = progress or no_progress
    with VersionWriter(directory) as writer, FeatureStore.open(store_path) as store:
        if best_poster or (best_poster is None and configs is DEFAULT_CONFIGS):
            configs = with_best_poster(configs, store.features())
        specs = [(head, FeatureSpec.parse(spec)) for head, spec in configs]
        previous = previous_version(writer.directory)
        usable = {m for _, spec in specs for m in ids_with_features(store, spec)}
        test_ids, split = make_split(store, previous, writer.directory, opts, [m for m in store.ids() if m in usable])
        writer.write_json(SPLIT, split)
        # configurations fitted earlier are kept only when they held out the same test split
        # (another seed or test size draws a new one, on which they would be scored unfairly)
        if previous is not None and (previous.split().seed, previous.split().test_size) != (opts.seed, opts.test_size):
            previous = None
        names = sorted({n for _, spec in specs for n in spec.names})
        encoders = write_encoders(writer, store, names, previous)
        kept = _carry_configs(writer, previous, {config_name(h, s) for h, s in specs})
        fitted = [fit_config(store, writer, head, spec, test_ids, opts, progress) for head, spec in specs]
        manifest = {"store": str(store_path), "genres": store.genres(), "split": SPLIT, "test_movies": len(test_ids),
                    "options": {k: v for k, v in asdict(opts).items() if k != "decades"},
                    "encoders": encoders, "configs": {**kept, **{c["name"]: c for c in fitted}}}
        version = writer.commit(manifest)
    return FitResult(writer.directory, version, len(test_ids), [ConfigResult.from_card(c) for c in fitted],
                     writer.manifest)
