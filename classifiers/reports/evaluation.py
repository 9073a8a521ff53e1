"""metrics dict (classifiers.experiment.evaluate) -> report.md, report.html (plots embedded) and metrics.json."""

import json
import os

from . import plots
from .document import Document

HEADLINE = ("f1_micro", "f1_macro", "f1_samples", "f1_weighted", "precision_micro", "recall_micro",
            "hamming_loss", "subset_accuracy", "top_class_accuracy", "top3_precision", "top3_recall")


def _pct(x):
    return "n/a" if x is None else f"{100 * x:.1f}%"


def _headline_table(doc, cfg):
    base = cfg["baselines"]
    freq_key = next(k for k in base if k.startswith("most_frequent_") and isinstance(base[k], dict))
    doc.table(["metric", "per-decade system", "pooled model", "null: all negative", f"null: {freq_key.replace('_', ' ')}"],
              [[m, cfg["per_decade_system"].get(m), cfg["pooled"].get(m), base["all_negative"].get(m),
                base[freq_key].get(m)] for m in HEADLINE])


def _matrix_section(doc, cfg, idx):
    doc.h(f"Train decade x test decade: {cfg['name']}", 3)
    doc.image(f"matrix_{idx}.png", plots.decade_matrix(cfg["matrix"], cfg["test_decades"], cfg["name"]),
              "rows: the model (a decade's own model, or pooled); columns: test decade; n/a: too few test movies")
    small = [f"{d}s (n={n})" for d, n in cfg["test_decades"].items()
             if not next(iter(cfg["matrix"].values()))[d].get("judged")]
    if small:
        doc.p("Too little test data to judge: " + ", ".join(small) + ".")
    if cfg["drops"]:
        doc.table(["decade model", "micro-F1 on its own decade", "mean on other decades", "relative drop"],
                  [[f"{d}s", v["same_decade"], v["other_decades"], _pct(v["relative_drop"])]
                   for d, v in cfg["drops"].items()])


def build(result, out_dir):
    """Write the three report files; returns the path of report.html."""
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "metrics.json"), "w") as f:
        json.dump(result, f, indent=2, default=float)
    doc = Document("onesheet evaluation report")
    best = next(c for c in result["configs"] if c["name"] == result["best"])
    doc.p(f"Store {result['store']}; models {result['models']}. Only the {result['test_movies']} movies of the "
          f"held-out test split (recorded by onesheet fit) are scored. Decades with fewer than {result['min_test']} "
          f"test movies are shown as n/a.")
    doc.h("Summary")
    doc.table(["configuration", "head", "features", "micro-F1", "macro-F1", "top-class acc", "test movies"],
              [[c["name"], c["head"], c["features"], c["per_decade_system"]["f1_micro"],
                c["per_decade_system"]["f1_macro"], c["per_decade_system"]["top_class_accuracy"], c["n_test"]]
               for c in result["configs"]])
    base = best["baselines"]
    doc.p(f"Null baselines on the same test movies: answering no genre gives micro-F1 0 and Hamming loss "
          f"{base['all_negative']['hamming_loss']:.3f}; always answering the most frequent genre is top-class "
          f"accurate {base['most_frequent_genre_top_class_accuracy']:.3f} of the time.")
    doc.image("configs.png", plots.grouped_bars(
        {c["name"].replace("__", "\n"): {"micro-F1": c["per_decade_system"]["f1_micro"],
                                         "macro-F1": c["per_decade_system"]["f1_macro"]} for c in result["configs"]},
        "Test micro/macro-F1 per configuration",
        baseline=next(v["f1_micro"] for k, v in base.items() if k.startswith("most_frequent_") and isinstance(v, dict)),
        baseline_label="most-frequent-genres micro-F1"), "every configuration beside the null baseline")

    doc.h("Cross-decade: can a model trained on one decade be trusted on another?")
    for i, cfg in enumerate(result["configs"]):
        _matrix_section(doc, cfg, i)
    eras = {n: e for n, e in result["cross_era"].items() if e}
    if eras:
        doc.h("Trained on 1990 and later, tested on earlier decades", 3)
        doc.table(["configuration", "train movies", "micro-F1 same era", "micro-F1 earlier", "relative drop micro",
                   "relative drop macro"],
                  [[n, e["train_movies"], e["same_era"].get("f1_micro"), e["earlier"].get("f1_micro"),
                    _pct(e.get("relative_drop_micro")), _pct(e.get("relative_drop_macro"))] for n, e in eras.items()])

    comp = result["comparisons"]
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

    doc.h("Details per configuration")
    for i, cfg in enumerate(result["configs"]):
        doc.h(cfg["name"], 3)
        _headline_table(doc, cfg)
        doc.table(["genre", "support", "precision", "recall", "F1", "ROC-AUC"],
                  [[r["genre"], r["support"], r["precision"], r["recall"], r["f1"], r["roc_auc"]]
                   for r in cfg["per_genre"]])
        doc.image(f"genres_{i}.png", plots.per_genre_bars(cfg["per_genre"], f"Per genre, {cfg['name']}"),
                  "per-genre precision, recall and F1 on the test split (support in brackets)")
    return doc.write(out_dir)
