"""What each accuracy lever costs, measured side by side in one run on the real catalog.

    python benchmarks/feature_costs.py [--catalog ../shared/data/tmdb-posters/movies.csv] [--n 512] [--rounds 3]

For ``--n`` posters / overviews, per round and interleaved (so load changes hit all alike):
decode + embed with poster/efficientnet-lite0 (centre crop 224, today's default) and with
poster/efficientnet-lite0-full and -bands (the whole poster at 192 x 288, one pass); overview/minilm
(int8, and the fp32 export) beside overview/tfidf + overview/glove-6b-50d + overview/bow. Prints CPU seconds (process time: every
onnxruntime thread counted) and wall seconds, medians over rounds, scaled to the catalog's
6,301 movies, and the ratios new / old. On a machine shared with other jobs read the CPU
seconds and the ratios, not the wall times; on 2 idle cores wall is about CPU / 2.
"""

import argparse
import csv
import os
import statistics
import time

import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:] = [ROOT] + [x for x in sys.path if os.path.abspath(x or ".") != os.path.dirname(os.path.abspath(__file__))]
from featurize.encoders import poster_encoder, text_encoders  # noqa: E402
from featurize.sentence import SentenceEncoder  # noqa: E402
from featurize.stream import poster_batches  # noqa: E402
from store import FeatureStore  # noqa: E402


def timed(fn):
    c, w = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - c, time.perf_counter() - w


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--catalog", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data",
                                                     "tmdb-posters", "movies.csv"))
    p.add_argument("--n", type=int, default=512)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    root = os.path.dirname(os.path.abspath(a.catalog))
    with open(a.catalog, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))[: a.n]
    items = [(r["movie_key"], os.path.join(root, r["poster"])) for r in rows]
    texts = [r["overview"] for r in rows]
    posters = {m: poster_encoder(m, device="cpu") for m in ("efficientnet-lite0", "efficientnet-lite0-full",
                                                            "efficientnet-lite0-bands")}
    for enc in posters.values():
        enc.embedder.embed(np.zeros((1, *enc.preprocessing.shape, 3), np.uint8))   # warm up

    def embed(enc):
        def run():
            for _, batch, _ in poster_batches(items, enc.preprocessing, 32, 1, mode="thread"):
                enc.embedder.embed(batch)
        return run

    import tempfile
    with tempfile.TemporaryDirectory() as tmp, FeatureStore.open(os.path.join(tmp, "s.h5"), "a") as store:
        text = text_encoders(store, sentence=False)
    for enc in text.values():
        if getattr(enc, "terms", True) is None:
            enc.fit(texts)
    minilm = SentenceEncoder.default()                       # int8, one overview per run: the feature
    minilm_fp32 = SentenceEncoder.default(precision="fp32", batch_size=64)   # the exact export, length-sorted batches
    jobs = {"poster/efficientnet-lite0": embed(posters["efficientnet-lite0"]),
            "poster/efficientnet-lite0-full": embed(posters["efficientnet-lite0-full"]),
            "poster/efficientnet-lite0-bands": embed(posters["efficientnet-lite0-bands"]),
            "overview/tfidf+glove+bow": lambda: [enc.transform(texts) for enc in text.values()],
            "overview/minilm": lambda: minilm.transform(texts),
            "overview/minilm fp32, batch 64": lambda: minilm_fp32.transform(texts)}
    got = {k: [] for k in jobs}
    for _ in range(a.rounds):
        for k, fn in jobs.items():
            got[k].append(timed(fn))
    scale = 6301 / len(rows)
    print(f"{len(rows)} movies, {a.rounds} rounds, load average {os.getloadavg()[0]:.1f}; figures scaled to 6,301 movies")
    print(f"{'feature':<34} {'CPU s':>8} {'wall s':>8}")
    med = {}
    for k, v in got.items():
        med[k] = (statistics.median(c for c, _ in v) * scale, statistics.median(w for _, w in v) * scale)
        print(f"{k:<34} {med[k][0]:>8.1f} {med[k][1]:>8.1f}")
    for k in ("poster/efficientnet-lite0-full", "poster/efficientnet-lite0-bands"):
        print(f"{k} / centre crop, CPU: {med[k][0] / med['poster/efficientnet-lite0'][0]:.2f}x")
    print(f"minilm / (bow + tfidf + glove), CPU: {med['overview/minilm'][0] / med['overview/tfidf+glove+bow'][0]:.1f}x")


if __name__ == "__main__":
    main()
