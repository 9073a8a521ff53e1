"""Embed every overview of a catalog with overview/minilm and time it (cache: /tmp/accuracy).

python scripts/experiments/minilm_embed.py CATALOG.csv OUT.npz [--threads 2]
"""
import argparse
import csv
import os
import time

import numpy as np

from featurize import sentence

p = argparse.ArgumentParser()
p.add_argument("catalog")
p.add_argument("out")
p.add_argument("--threads", type=int, default=2)
a = p.parse_args()
with open(a.catalog, newline="", encoding="utf-8") as f:
    rows = list(csv.DictReader(f))
ids = [r["movie_key"] for r in rows]
texts = [r["overview"] or "" for r in rows]
t0 = time.perf_counter()
enc = sentence.SentenceEncoder.default(threads=a.threads)
t1 = time.perf_counter()
X = enc.transform(texts)
t2 = time.perf_counter()
print(f"load {t1 - t0:.1f} s, embed {len(texts)} overviews {t2 - t1:.1f} s ({len(texts) / (t2 - t1):.0f}/s), "
      f"cpu {os.times().user + os.times().system:.1f} s, load avg {os.getloadavg()[0]:.1f}")
np.savez(a.out, ids=np.array(ids), X=X)
