"""Score feature sets with onesheet's protocol: pooled svm, thresholds (and the poster
weight of fused sets) chosen on validation, refitted on train + validation, scored on the
test split that ``onesheet fit`` holds out (same seeded, decade-stratified splits).

python scripts/experiments/levers.py --store S.h5 [--extra NAME=FILE.npz[:COLS]] SPEC [SPEC ...]
A SPEC is names joined by '+': store features, extras, or ``decade`` (one-hot decade).
``FILE.npz:0-1280`` keeps those columns. ``--cross-era`` adds the cross-era check (train on
1990 and later, test on the earlier decades' test movies) beside the best constant answer.
Prints one line per spec and appends JSON lines to --log.
"""
import argparse
import json
import time

import numpy as np
import scipy.sparse as sp

from classifiers.model.decades import fit_model, refitted, score, tune
from classifiers.model.spec import FeatureSpec
from classifiers.model import metrics
from classifiers.model.priorshift import em_priors
from classifiers.model.splits import decade_array, holdout, validation
from store import FeatureStore

WEIGHTS = (0.35, 0.5, 0.7, 1.0)


def load_extra(spec, ids):
    path, _, cols = spec.partition(":")
    z = np.load(path)
    pos = {m: i for i, m in enumerate(z["ids"].astype(str))}
    X = z["X"][[pos[m] for m in ids]]
    if cols:
        a, b = map(int, cols.split("-"))
        X = X[:, a:b]
    return np.asarray(X, np.float32)


def best_constant(Ytrain, Ytest):
    """Micro-F1 of answering the k most frequent training genres for every movie, best k."""
    order = np.argsort(-Ytrain.sum(0))
    best = 0.0
    for k in range(1, 6):
        pred = np.zeros_like(Ytest)
        pred[:, order[:k]] = 1
        tp = (pred & Ytest).sum()
        best = max(best, 2 * tp / (pred.sum() + Ytest.sum()))
    return float(best)


def evaluate_spec(spec, blocks, Y, tr, va, te, is_poster, grid=WEIGHTS):
    X = sp.hstack([sp.csr_matrix(blocks[n]) for n in spec], format="csr") if any(sp.issparse(blocks[n]) for n in spec) \
        else np.hstack([blocks[n] for n in spec])
    widths = [blocks[n].shape[1] for n in spec]
    kinds = ["sparse" if sp.issparse(blocks[n]) else "dense" for n in spec]
    layout = FeatureSpec(tuple(spec)).with_layout(widths, kinds)
    fused = any(is_poster(n) for n in spec) and not all(is_poster(n) for n in spec)
    best = None
    for w in (grid if fused else (1.0,)):
        weights = [w if is_poster(n) else 1.0 for n in spec] if w != 1.0 else None
        m = tune(fit_model("svm", X[tr], Y[tr], layout, True, {}, weights), X[va], Y[va])
        v = score(m, X[va], Y[va])
        if best is None or v["f1_micro"] > best[1]["f1_micro"]:
            best = (m, v, w)
    model, val, w = best
    final = refitted(model, X[np.r_[tr, va]], Y[np.r_[tr, va]])
    return final, val, w, X


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--store", required=True)
    p.add_argument("--extra", action="append", default=[])
    p.add_argument("--cross-era", action="store_true")
    p.add_argument("--weights", default=",".join(map(str, WEIGHTS)), help="poster weights tried for fused sets")
    p.add_argument("--log", default="/tmp/accuracy/levers.jsonl")
    p.add_argument("specs", nargs="+")
    a = p.parse_args()
    with FeatureStore.open(a.store) as fs:
        ids = fs.ids()
        dec = decade_array(fs, ids)
        pool, test = holdout(ids, dec, 0.2, 0)
        Yall = fs.labels(ids)
        lab = {m for m, y in zip(ids, Yall) if y.any()}
        pool = [m for m in pool if m in lab]
        train, val = validation(pool, decade_array(fs, pool), 0.2, 0)
        test = [m for m in test if m in lab]
        order = train + val + test
        tr, va = np.arange(len(train)), np.arange(len(train), len(train) + len(val))
        te = np.arange(len(train) + len(val), len(order))
        Y = fs.labels(order)
        d = decade_array(fs, order)
        names = {n for s in a.specs for n in s.split("+")}
        extras = dict(e.split("=", 1) for e in a.extra)
        blocks = {}
        for n in names:
            if n == "decade":
                levels = sorted(set(d))
                blocks[n] = (d[:, None] == np.array(levels)[None]).astype(np.float32)
            elif n in extras:
                blocks[n] = load_extra(extras[n], order)
            else:
                blocks[n] = fs.lookup(order, feature=n)
    is_poster = lambda n: n.startswith("poster") or n.startswith("lite") or n.startswith("colour")
    for s in a.specs:
        spec = s.split("+")
        t0 = time.perf_counter()
        final, val, w, X = evaluate_spec(spec, blocks, Y, tr, va, te, is_poster,
                                         tuple(float(x) for x in a.weights.split(",")))
        test_m = score(final, X[te], Y[te])
        row = {"spec": s, "val_micro": val["f1_micro"], "val_macro": val["f1_macro"], "poster_weight": w,
               "test_micro": test_m["f1_micro"], "test_macro": test_m["f1_macro"]}
        old = te[d[te] < 1990]
        row["test_micro_pre1990"] = score(final, X[old], Y[old])["f1_micro"]
        if a.cross_era:
            new_tr, new_va = tr[d[tr] >= 1990], va[d[va] >= 1990]
            layout = FeatureSpec(tuple(spec)).with_layout(
                [blocks[n].shape[1] for n in spec], ["sparse" if sp.issparse(blocks[n]) else "dense" for n in spec])
            m = tune(fit_model("svm", X[new_tr], Y[new_tr], layout, True, {},
                               [w if is_poster(n) else 1.0 for n in spec] if w != 1.0 else None),
                     X[new_va], Y[new_va])
            m = refitted(m, X[np.r_[new_tr, new_va]], Y[np.r_[new_tr, new_va]])
            new_te = te[d[te] >= 1990]
            row["cross_era_modern"] = score(m, X[new_te], Y[new_te])["f1_micro"]
            row["cross_era_earlier"] = score(m, X[old], Y[old])["f1_micro"]
            row["cross_era_constant"] = best_constant(Y[np.r_[new_tr, new_va]], Y[old])
            shifted = em_priors(m.predict_proba(X[old]), Y[np.r_[new_tr, new_va]].mean(0)).probabilities
            row["cross_era_earlier_prior_shift"] = metrics.summary(
                Y[old], (shifted >= m[-1].thresholds_).astype(np.uint8))["f1_micro"]
        row["seconds"] = round(time.perf_counter() - t0, 1)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
        with open(a.log, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
