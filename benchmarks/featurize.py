"""featurize throughput on the real catalog, measured side by side in one run.

    python benchmarks/featurize.py [--catalog ../shared/data/tmdb-posters/movies.csv] [--posters 1024]

(a) posters/s end to end (decode + preprocess + embed + write) vs the same ONNX model on
    pre-decoded tensors vs the same network in torch eager;
(b) overviews/s per text feature;
(c) peak RSS of a full featurize run for 1,000 vs all movies (each in a fresh process).
Targets (2 cores): end to end >= 0.9x model-alone, >= 6x torch eager; all 6,301 movies
<= 90 s; peak RSS <= 1 GB and flat in N.
"""

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.common import row  # noqa: E402
from featurize import FeaturizeOptions, featurize  # noqa: E402
from featurize.encoders import poster_encoder, text_encoders  # noqa: E402
from featurize.images import load_poster  # noqa: E402
from store import FeatureStore  # noqa: E402

DEFAULT_CATALOG = os.path.join(os.path.dirname(ROOT), "shared", "data", "tmdb-posters", "movies.csv")


def subset_catalog(catalog, n, folder):
    """The first n rows of the catalog, with poster paths made absolute."""
    base = os.path.dirname(os.path.abspath(catalog))
    out = os.path.join(folder, f"first{n}.csv")
    with open(catalog, newline="", encoding="utf-8") as f, open(out, "w", newline="", encoding="utf-8") as g:
        reader, writer = csv.DictReader(f), None
        for i, rec in enumerate(reader):
            if i >= n:
                break
            rec["poster"] = os.path.join(base, rec["poster"])
            if writer is None:
                writer = csv.DictWriter(g, fieldnames=reader.fieldnames)
                writer.writeheader()
            writer.writerow(rec)
    return out


def posters_end_to_end(catalog, n, folder):
    sub = subset_catalog(catalog, n, folder)
    store = os.path.join(folder, "e2e.h5")
    summary = featurize(sub, store, FeaturizeOptions(text=False))
    run = summary.features[-1]
    return run.written / run.seconds


def model_alone(paths, batch_size=32):
    enc = poster_encoder()
    batches = [np.stack([load_poster(p, enc.preprocessing) for p in paths[i:i + batch_size]])
               for i in range(0, len(paths), batch_size)]
    enc.embedder.embed(batches[0])
    t0 = time.perf_counter()
    for b in batches:
        enc.embedder.embed(b)
    return len(paths) / (time.perf_counter() - t0), batches


def torch_eager(batches, limit=4):
    import torch
    from featurize.models import build_efficientnet_lite0
    module, _ = build_efficientnet_lite0()
    torch.set_num_threads(os.cpu_count() or 1)
    with torch.no_grad():
        module(torch.from_numpy(batches[0]))
        t0 = time.perf_counter()
        n = 0
        for b in batches[:limit]:
            module(torch.from_numpy(b))
            n += len(b)
    return n / (time.perf_counter() - t0)


def text_rates(catalog, folder):
    sub = subset_catalog(catalog, 10**9, folder)
    store = os.path.join(folder, "text.h5")
    summary = featurize(sub, store, FeaturizeOptions(posters=False))
    return {r.name: r.rate for r in summary.features}


def rss_run(catalog, n, folder):
    """Featurize the first n movies in a fresh process: (seconds, peak RSS MB)."""
    sub = subset_catalog(catalog, n, folder)
    store = os.path.join(folder, f"rss{n}.h5")
    code = ("import json,time,sys; sys.path.insert(0, %r); from featurize import featurize;"
            "from benchmarks.common import peak_rss_mb; t=time.perf_counter(); featurize(%r, %r); "
            "print(json.dumps([time.perf_counter()-t, peak_rss_mb()]))" % (ROOT, sub, store))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog", default=DEFAULT_CATALOG)
    ap.add_argument("--posters", type=int, default=1024, help="posters for the side-by-side rates")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        with FeatureStore.open(os.path.join(tmp, "probe.h5"), "a"):
            pass
        with open(args.catalog, newline="", encoding="utf-8") as f:
            base = os.path.dirname(os.path.abspath(args.catalog))
            paths = [os.path.join(base, r["poster"]) for r in csv.DictReader(f)][: args.posters]
        alone, batches = model_alone(paths)
        e2e = posters_end_to_end(args.catalog, args.posters, tmp)
        eager = torch_eager(batches)
        print(f"(a) posters/s on {len(paths)} real posters, batch 32, {os.cpu_count()} cores")
        print(row("path", "posters/s", "vs alone", ""))
        print(row("end to end (featurize)", f"{e2e:.1f}", f"{e2e / alone:.2f}x", ""))
        print(row("ONNX model alone", f"{alone:.1f}", "1.00x", ""))
        print(row("torch eager", f"{eager:.1f}", f"{eager / alone:.2f}x", ""))
        print(f"    end to end / torch eager = {e2e / eager:.1f}x")
        print("(b) overviews/s, all movies")
        for name, rate in text_rates(args.catalog, tmp).items():
            print(row(name, f"{rate:,.0f}", "", ""))
        print("(c) full featurize (posters + all text features), fresh process each")
        print(row("movies", "seconds", "peak RSS MB", ""))
        for n in (1000, 10**9):
            secs, rss = rss_run(args.catalog, n, tmp)
            label = "1,000" if n == 1000 else "all"
            print(row(label, f"{secs:.1f}", f"{rss:.0f}", ""))


if __name__ == "__main__":
    main()
