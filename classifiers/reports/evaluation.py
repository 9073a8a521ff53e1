"""metrics dict (classifiers.experiment.evaluate) -> report.md, report.html (plots embedded) and metrics.json.

The report leads with its answer: the first screen holds the best model for each kind of
input beside the constant answer on the same movies, and the cross-era plot (how much
worse on vintage posters). Everything else follows: per-decade scores with bootstrap
intervals and flags, a gallery of test posters, the decade matrices, the comparisons.
"""

import json
import os

from . import plots
from .document import Document
from .gallery import gallery_items

HEADLINE = ("f1_micro", "f1_macro", "f1_samples", "f1_weighted", "precision_micro", "recall_micro",
            "hamming_loss", "subset_accuracy", "top_class_accuracy", "top3_precision", "top3_recall")
KINDS = (("fused", "poster + overview"), ("poster", "poster only"), ("overview", "overview only"))


def _pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _f(x):
    return "n/a" if x is None else f"{x:.3f}"


def _ci(score, ci):
    if score is None:
        return "n/a"
    return f"{score:.3f} ({ci[0]:.2f}-{ci[1]:.2f})" if ci and ci[0] is not None else f"{score:.3f}"


def _verdict(line):
    if line.get("beats_constant") is None:
        return "n/a"
    text = "above constant" if line["beats_constant"] else "NOT above constant"
    return text + (" (small)" if line.get("small") else "")


def short(name):
    """A configuration name people can read: 'svm: efficientnet-lite0 + tfidf + glove-6b-50d'."""
    head, _, spec = name.partition("__")
    parts = [p.split("-", 1)[1] if p.startswith(("poster-", "overview-")) else p for p in spec.split("+")]
    return f"{head}: {' + '.join(parts)}" if spec else name


def _configs(result):
    return {c["name"]: c for c in result["configs"]}


def _lead(doc, result):
    """The answer, in one paragraph and one table."""
    configs = _configs(result)
    best_name = result.get("best") or result["best_per_kind"].get("fused") or result["configs"][0]["name"]
    best = configs[best_name]
    o = best["overall"]
    era = (result.get("cross_era") or {}).get(best_name) or {}
    text = (f"Best model: {best_name} ({best['kind']}), test micro-F1 {_ci(o['model']['f1_micro'], o['ci95']['f1_micro'])}"
            f" vs {_f(o['constant']['f1_micro'])} for the constant answer on the same {o['n']} movies.")
    if "relative_drop_micro" in era:
        text += (f" Trained on 1990+, it scores {_f(era['same_era']['f1_micro'])} on 1990+ and "
                 f"{_f(era['earlier']['f1_micro'])} on earlier decades: {_pct(era['relative_drop_micro'])} worse on "
                 f"vintage movies (constant there: {_f(era['earlier']['constant']['f1_micro'])}).")
    if not result.get("best"):
        text = result.get("best_refused", "no best model named") + ". " + text
    doc.p(text, cls="lead")
    rows = []
    for kind, label in KINDS:
        name = result["best_per_kind"].get(kind)
        if not name:
            continue
        c = configs[name]
        o = c["overall"]
        rows.append([label, short(name), _ci(o["model"]["f1_micro"], o["ci95"]["f1_micro"]),
                     _ci(o["model"]["f1_macro"], o["ci95"]["f1_macro"]), o["model"]["top_class_accuracy"],
                     f"{_f(o['constant']['f1_micro'])} (top {o['constant']['k']})", o["constant"]["top_class_accuracy"],
                     o["n"]])
    doc.table(["input", "best model", "micro-F1 (95% CI)", "macro-F1 (95% CI)", "top-class acc",
               "constant micro-F1", "prior top-class acc", "test movies"], rows, id="headline")
    eras = {}
    for name, e in (result.get("cross_era") or {}).items():
        if e and e["same_era"].get("judged") and e["earlier"].get("judged"):
            eras[short(name)] = {"modern": e["same_era"]["f1_micro"], "vintage": e["earlier"]["f1_micro"],
                                             "modern_constant": e["same_era"]["constant"]["f1_micro"],
                                             "vintage_constant": e["earlier"]["constant"]["f1_micro"]}
    if eras:
        doc.image("cross_era.png", plots.cross_era(eras, "Trained on 1990+: modern vs vintage test movies"),
                  "micro-F1 of each model trained on 1990 and later, on the test movies of 1990+ and of earlier "
                  "decades; black tick: the constant answer (its top training genres) on the same movies",
                  id="cross-era")
    for name, decades in result.get("not_above_constant", {}).items():
        per_decade = configs[name]["per_decade"]
        doc.p(f"Warning: {name} does not beat the constant answer on " + ", ".join(
            f"{d}s" + (f" (only {per_decade[d]['n']} test movies)" if per_decade[d]["small"] else "")
            for d in decades) + ".", cls="warn")
    doc.p("Constant answer: every movie gets the k most frequent training genres (k best on the scored movies); "
          "prior top-class accuracy: always naming the most frequent training genre. Intervals: 95% bootstrap "
          f"over test movies. Scores on fewer than {result.get('min_reliable', 30)} movies are marked small.")


def _per_decade_section(doc, cfg):
    doc.h(cfg["name"], 3)
    rows = [[f"{d}s" if d.isdigit() else d, v["n"], _ci(v["model"]["f1_micro"], v["ci95"]["f1_micro"]),
             v["constant"].get("f1_micro"), _ci(v["model"]["f1_macro"], v["ci95"]["f1_macro"]),
             v["constant"].get("f1_macro"), v["model"].get("top_class_accuracy"),
             v["constant"].get("top_class_accuracy"), _verdict(v)] for d, v in cfg["per_decade"].items()]
    doc.table(["test decade", "movies", "micro-F1 (95% CI)", "constant micro-F1", "macro-F1 (95% CI)",
               "constant macro-F1", "top-class acc", "prior top-class acc", "verdict"], rows)


def _matrix_section(doc, cfg, idx):
    doc.h(f"Train decade x test decade: {cfg['name']}", 3)
    small = [f"{d}s (n={n})" for d, n in cfg["test_decades"].items()
             if not any(row[d].get("judged") for row in cfg["matrix"].values())]
    if len(small) < len(cfg["test_decades"]):
        doc.image(f"matrix_{idx}.png", plots.decade_matrix(cfg["matrix"], cfg["test_decades"], cfg["name"],
                                                           cfg.get("matrix_constant")),
                  "rows: the model (a decade's own model, or pooled) and the constant answer; columns: test decade")
    if small:
        doc.p("Too little test data to judge (columns dropped): " + ", ".join(small) + ".")
    if cfg["drops"]:
        doc.table(["decade model", "micro-F1 on its own decade", "mean on other decades", "relative drop"],
                  [[f"{d}s", v["same_decade"], v["other_decades"], _pct(v["relative_drop"])]
                   for d, v in cfg["drops"].items()])


def _cross_era_table(doc, result):
    eras = {n: e for n, e in result["cross_era"].items() if e}
    if not eras:
        return
    doc.h("Trained on 1990 and later, tested on earlier decades", 3)
    rows = []
    for n, e in eras.items():
        s, v = e["same_era"], e["earlier"]
        rows.append([n, e["train_movies"], _ci(s.get("f1_micro"), s.get("ci95", {}).get("f1_micro")),
                     s.get("constant", {}).get("f1_micro"), _ci(v.get("f1_micro"), v.get("ci95", {}).get("f1_micro")),
                     v.get("constant", {}).get("f1_micro"), _pct(e.get("relative_drop_micro")),
                     _pct(e.get("relative_drop_macro")), _verdict(v) if "beats_constant" in v else "n/a"])
    doc.table(["configuration", "train movies", "micro-F1 1990+", "constant 1990+", "micro-F1 earlier",
               "constant earlier", "relative drop micro", "relative drop macro", "earlier: verdict"], rows)


def _comparisons(doc, comp):
    doc.h("Comparisons")
    doc.h("Per-decade models vs the pooled model", 3)
    doc.table(["configuration", "per-decade micro-F1", "pooled micro-F1", "per-decade macro-F1", "pooled macro-F1"],
              [[n, v["per_decade"], v["pooled"], v["per_decade_macro"], v["pooled_macro"]]
               for n, v in comp["per_decade_vs_pooled"].items()])
    if comp["balancing"]:
        doc.h("With and without class balancing (pooled model)", 3)
        rows = []
        for n, v in comp["balancing"].items():
            for label in ("balanced", "unbalanced"):
                rows.append([n, label, v[label]["minority_recall"], v[label]["f1_macro"], v[label]["f1_micro"]])
        genres = next(iter(comp["balancing"].values()))["minority_genres"]
        doc.p("Minority genres (under 5% of test movies): " + ", ".join(genres) + ".")
        doc.table(["configuration", "training", "minority-genre recall", "macro-F1", "micro-F1"], rows)
    doc.h("Poster vs overview vs fused (svm)", 3)
    doc.table(["input", "configuration", "micro-F1", "macro-F1"],
              [[k, n, v["f1_micro"], v["f1_macro"]] for k, cs in comp["poster_vs_overview_vs_fused"].items()
               for n, v in cs.items()])
    doc.h("SVM vs NB vs MLP", 3)
    doc.table(["head", "configuration", "micro-F1", "macro-F1"],
              [[h, n, v["f1_micro"], v["f1_macro"]] for h, cs in comp["heads"].items() for n, v in cs.items()])


def _details(doc, cfg, idx):
    doc.h(cfg["name"], 3)
    base = cfg["baselines"]
    const = base["constant"]
    doc.table(["metric", "per-decade system", "pooled model", "null: all negative", f"constant: top {const.get('k')}"],
              [[m, cfg["per_decade_system"].get(m), cfg["pooled"].get(m), base["all_negative"].get(m),
                const.get(m)] for m in HEADLINE])
    doc.table(["genre", "support", "precision", "recall", "F1", "constant F1 (always this genre)", "ROC-AUC"],
              [[r["genre"], r["support"], r["precision"], r["recall"], r["f1"], r.get("constant_f1"), r["roc_auc"]]
               for r in cfg["per_genre"]])
    doc.image(f"genres_{idx}.png", plots.per_genre_bars(cfg["per_genre"], f"Per genre, {cfg['name']}"),
              "per-genre precision, recall and F1 on the test split (support in brackets)")


def build(result, out_dir):
    """Write the three report files; returns the path of report.html."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(result, f, indent=2, default=float)
    doc = Document("onesheet evaluation report")
    _lead(doc, result)
    doc.p(f"Store {result['store']}; models {result['models']}. Only the {result['test_movies']} movies of the "
          f"held-out test split (recorded by onesheet fit) are scored. Decades with fewer than {result['min_test']} "
          f"test movies are not judged in the matrices.")
    doc.h("Summary: every configuration")
    ranked = sorted(result["configs"], key=lambda c: -c["per_decade_system"]["f1_micro"])
    doc.table(["configuration", "head", "input", "micro-F1 (95% CI)", "macro-F1", "top-class acc",
               "constant micro-F1", "test movies"],
              [[c["name"] + (" (best)" if c["name"] == result.get("best") else ""), c["head"], c["kind"],
                _ci(c["overall"]["model"]["f1_micro"], c["overall"]["ci95"]["f1_micro"]),
                c["per_decade_system"]["f1_macro"], c["per_decade_system"]["top_class_accuracy"],
                c["overall"]["constant"]["f1_micro"], c["n_test"]] for c in ranked])
    doc.h("Per test decade, beside the constant answer")
    for cfg in ranked:
        _per_decade_section(doc, cfg)
    gallery_cfg = _configs(result).get(result.get("best") or result["best_per_kind"].get("fused", ""))
    if gallery_cfg and gallery_cfg.get("examples"):
        doc.h(f"Test posters, right and wrong ({gallery_cfg['name']})")
        doc.gallery(gallery_items(gallery_cfg["examples"], result.get("movies", {}), result["genres"]), id="gallery")
    doc.h("Cross-decade: can a model trained on one decade be trusted on another?")
    _cross_era_table(doc, result)
    for i, cfg in enumerate(result["configs"]):
        _matrix_section(doc, cfg, i)
    _comparisons(doc, result["comparisons"])
    doc.h("Details per configuration")
    for i, cfg in enumerate(result["configs"]):
        _details(doc, cfg, i)
    return doc.write(out_dir)
