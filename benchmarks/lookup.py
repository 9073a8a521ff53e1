"""Lookup latency of FeatureStore.lookup vs a plain numpy memmap of the same matrix.

    python benchmarks/lookup.py [--rows 50000] [--dim 1280]

Prints median milliseconds per lookup for 1, 100, 1,000 and 10,000 random ids (unsorted,
with repeats), and the store/memmap ratio. Targets: 1 id <= 0.5 ms; 1,000 ids <= 10 ms
and within 2x of the memmap.
"""

import argparse
import os
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import median_seconds, row  # noqa: E402
from store import FeatureStore  # noqa: E402


def build(path, n, dim, rng):
    ids = [str(100000 + i) for i in range(n)]
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    with FeatureStore.open(path, "a") as s:
        s.replace_movies({"id": ids, "title": ids, "overview": [""] * n, "poster": [""] * n,
                          "poster_sha256": [""] * n, "year": [2000] * n, "decade": [2000] * n},
                         np.zeros((n, 1), np.uint8), ["Drama"])
        s.write_features("poster/bench", ids, matrix, {"encoder": "random", "sha256": "0", "preprocessing": "none"})
    raw = path + ".npy"
    np.save(raw, matrix)
    return ids, matrix, raw


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--dim", type=int, default=1280)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "bench.h5")
        ids, matrix, raw = build(path, args.rows, args.dim, rng)
        memmap = np.load(raw, mmap_mode="r")
        row_of = {m: i for i, m in enumerate(ids)}
        print(f"{args.rows:,} x {args.dim} float32 feature; median of 21 runs after warm-up")
        print(row("ids per lookup", "store ms", "memmap ms", "ratio"))
        with FeatureStore.open(path) as store:
            for k in (1, 100, 1_000, 10_000):
                query = [ids[i] for i in rng.integers(0, len(ids), size=k)]  # unsorted, with repeats
                got = store.lookup(query, feature="poster/bench")
                assert np.array_equal(got, matrix[[row_of[q] for q in query]])
                t_store = median_seconds(lambda: store.lookup(query, feature="poster/bench"))
                t_mm = median_seconds(lambda: np.asarray(memmap[[row_of[q] for q in query]]))
                print(row(f"{k:,}", f"{t_store * 1e3:.3f}", f"{t_mm * 1e3:.3f}", f"{t_store / t_mm:.2f}x"))


if __name__ == "__main__":
    main()
