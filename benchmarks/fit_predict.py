"""Fit and predict speed on the real store.

    python benchmarks/fit_predict.py --store out/store.h5 [--catalog ../shared/data/tmdb-posters/movies.csv]

Prints: seconds to fit each head for every decade plus the pooled model; median latency
of predicting one poster end to end (decode, embed, decade model) after warm-up; and
catalog-mode throughput. Targets (2 cores): all three heads <= 60 s; one poster <= 25 ms;
catalog mode >= 100 movies/s.
"""

import argparse
import os
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.common import median_seconds, row  # noqa: E402
from classifiers import FitOptions, Predictor, fit  # noqa: E402
from classifiers.predict.batch import catalog_rows, predict_rows  # noqa: E402

FUSED = "poster/efficientnet-lite0+overview/tfidf+overview/glove-6b-50d"
HEADS = (("svm", FUSED), ("nb", "overview/bow"), ("mlp", "poster/efficientnet-lite0+overview/glove-6b-50d"))
DEFAULT_CATALOG = os.path.join(os.path.dirname(ROOT), "shared", "data", "tmdb-posters", "movies.csv")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--catalog", default=DEFAULT_CATALOG)
    ap.add_argument("--movies", type=int, default=600, help="catalog rows for the throughput figure")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as models:
        print(f"fit: every decade + pooled, {os.cpu_count()} cores")
        print(row("head / features", "seconds", "", "", widths=(60, 8, 1, 1)))
        total = 0.0
        for head, spec in HEADS:
            t0 = time.perf_counter()
            fit(args.store, models, [(head, spec)], FitOptions(compare_balance=False))
            secs = time.perf_counter() - t0
            total += secs
            print(row(f"{head} {spec}", f"{secs:.1f}", "", "", widths=(60, 8, 1, 1)))
        print(row("all three heads", f"{total:.1f}", "", "", widths=(60, 8, 1, 1)))
        fit(args.store, models, [("svm", "poster/efficientnet-lite0")], FitOptions(compare_balance=False))

        predictor = Predictor(models)
        id_header, rows = catalog_rows(args.catalog)
        poster = rows[0][1]
        one = median_seconds(lambda: predictor.predict([poster], [""], [1975]), repeats=41, warmup=3)
        print(f"predict one poster end to end (poster-only, decade model): median {one * 1e3:.1f} ms")
        sample = rows[: args.movies]
        out = os.path.join(models, "pred.csv")
        predict_rows(predictor, sample[:64], out, id_header)  # warm-up: loads every model once
        t0 = time.perf_counter()
        predict_rows(predictor, sample, out, id_header)
        rate = len(sample) / (time.perf_counter() - t0)
        print(f"catalog mode (posters + overviews + years, {len(sample)} movies): {rate:.0f} movies/s")


if __name__ == "__main__":
    main()
