"""featurize throughput on the real catalog, measured side by side in one run, for the device found.

    python benchmarks/featurize.py [--catalog ../shared/data/tmdb-posters/movies.csv] [--posters 1024]
                                   [--device auto|cpu|cuda] [--rounds 3] [--repeat 1] [--skip-full]

(a) decode alone: posters/s by number of decode workers, threads vs processes (uint8 output,
    start-up included);
(b) model alone: the same ONNX model on pre-decoded uint8 batches (default batch size for
    the device), plus the pre-change float NCHW input on the host for comparison, plus torch
    eager (CPU) or torch fp16 channels_last (CUDA, speed only);
(c) end to end: ``featurize`` with default batch size and workers (and with the other decode
    mode), each round interleaved with a model-alone run; ratios are medians of per-round ratios;
(d) overviews/s per text feature; (e) a full featurize run (1,000 and all movies) in a fresh
    process: seconds and peak RSS.
Targets: 2 cores: end to end >= 0.9x model alone; many-core CPU >= 0.8x; H100 + 16 cores:
end to end >= 5,000 posters/s and >= 0.8x the model alone with IO binding.
"""

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.common import row  # noqa: E402
from featurize import FeaturizeOptions, featurize  # noqa: E402
from featurize import defaults, gpu_decode  # noqa: E402
from featurize.encoders import poster_encoder  # noqa: E402
from featurize.feeding import HostFeeder  # noqa: E402
from featurize.images import load_poster, normalise  # noqa: E402
from featurize.posters import PosterEmbedder, cosines  # noqa: E402
from featurize.stream import poster_batches  # noqa: E402
from store.catalog import ID_COLUMNS  # noqa: E402

DEFAULT_CATALOG = os.path.join(os.path.dirname(ROOT), "shared", "data", "tmdb-posters", "movies.csv")
WIDE = (44, 12, 12, 10)


def subset_catalog(catalog, n, folder, repeat=1):
    """The first n rows of the catalog, with poster paths made absolute; ``repeat`` > 1 appends
    copies of them under new ids (fixed start-up costs weigh less in a longer run)."""
    base = os.path.dirname(os.path.abspath(catalog))
    out = os.path.join(folder, f"first{n}x{repeat}.csv")
    with open(catalog, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [rec for _, rec in zip(range(n), reader)]
        fields = reader.fieldnames
    key = next((c for c in ID_COLUMNS if c in fields), fields[0])
    with open(out, "w", newline="", encoding="utf-8") as g:
        writer = csv.DictWriter(g, fieldnames=fields)
        writer.writeheader()
        for k in range(repeat):
            for rec in rows:
                writer.writerow(dict(rec, poster=os.path.join(base, rec["poster"]),
                                     **({key: f"{rec[key]}-{k}"} if k else {})))
    return out


def decode_alone(paths, pre, workers, mode, batch_size):
    t0 = time.perf_counter()
    n = sum(len(ids) for ids, _, _ in poster_batches(list(enumerate(paths)), pre, batch_size, workers, mode=mode,
                                                      copy=False))
    return n / (time.perf_counter() - t0)


def model_alone(embedder, batches):
    embedder.embed(batches[0])
    t0 = time.perf_counter()
    for b in batches:
        embedder.embed(b)
    return sum(map(len, batches)) / (time.perf_counter() - t0)


def end_to_end(sub, folder, tag, **opts):
    store = os.path.join(folder, f"e2e-{tag}-{time.monotonic_ns()}.h5")
    summary = featurize(sub, store, FeaturizeOptions(text=False, **opts))
    run = summary.features[-1]
    os.remove(store)
    return run.written / run.seconds


def torch_eager(batches, pre, device, limit=4):
    import torch
    from featurize.models import build_efficientnet_lite0
    module, _ = build_efficientnet_lite0()
    x = [torch.from_numpy(normalise(b, pre)) for b in batches[:limit]]
    if device == "cuda":
        module = module.half().cuda().to(memory_format=torch.channels_last)
        x = [t.half().cuda().to(memory_format=torch.channels_last) for t in x]
    else:
        torch.set_num_threads(defaults.cores())
    with torch.no_grad():
        module(x[0])
        if device == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        for t in x:
            module(t)
        if device == "cuda":
            torch.cuda.synchronize()
    return sum(len(t) for t in x) / (time.perf_counter() - t0)


def cuda_agreement(enc, embedder, cpu, pixels, paths, batch, workers, alone):
    """CUDA only: host numpy feeding, fp16 speed, and how close CUDA / fp16 / nvJPEG embeddings are."""
    pre = enc.preprocessing
    host = PosterEmbedder(enc.onnx_path, device="cuda", preprocessing=pre)
    host.feeder = HostFeeder(host.session, host.input_name, host.output_name)
    fp16 = PosterEmbedder(enc.onnx_path, device="cuda", preprocessing=pre, precision="fp16")
    rates = {"ONNX model alone, uint8, host numpy in and out (session.run)": model_alone(host, pixels),
             "ONNX model alone, fp16 graph, IO binding": model_alone(fp16, pixels)}
    for key, rate in rates.items():
        print(row(key, f"{rate:,.0f}", f"{rate / alone:.2f}x", "", widths=WIDE))
    ref = np.concatenate([embedder.embed(b) for b in pixels])
    every = list(range(len(ref)))
    pairs = {"CUDA fp32 vs CPU provider fp32": (np.concatenate([cpu.embed(b) for b in pixels]), every),
             "CUDA fp16 vs CUDA fp32": (np.concatenate([fp16.embed(b) for b in pixels]), every)}
    if gpu_decode.available():
        got = {}
        for ids, b, _ in gpu_decode.gpu_batches(list(enumerate(paths)), pre, batch, workers):
            got.update(zip(ids, embedder.embed(b)))
        pairs["--decode gpu (nvJPEG) vs Pillow decode, CUDA fp32"] = (np.stack(list(got.values())), list(got))
    print("cosine to the reference (CUDA fp32, Pillow decode), real posters: min / median / posters")
    for key, (emb, rows) in pairs.items():
        c = cosines(emb, ref[rows])
        print(row(key, f"{c.min():.6f}", f"{np.median(c):.6f}", f"{len(rows):,}", widths=WIDE))


def text_rates(catalog, folder):
    sub = subset_catalog(catalog, 10**9, folder)
    summary = featurize(sub, os.path.join(folder, "text.h5"), FeaturizeOptions(posters=False))
    return {r.name: r.rate for r in summary.features}


def rss_run(catalog, n, folder, device):
    """Featurize the first n movies in a fresh process: (seconds, peak RSS MB)."""
    sub = subset_catalog(catalog, n, folder)
    store = os.path.join(folder, f"rss{n}.h5")
    code = ("import json,time,sys; sys.path.insert(0, %r); from featurize import featurize, FeaturizeOptions;"
            "from benchmarks.common import peak_rss_mb; t=time.perf_counter(); "
            "featurize(%r, %r, FeaturizeOptions(device=%r)); "
            "print(json.dumps([time.perf_counter()-t, peak_rss_mb()]))" % (ROOT, sub, store, device))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--catalog", default=DEFAULT_CATALOG)
    ap.add_argument("--posters", type=int, default=1024, help="posters for the side-by-side rates")
    ap.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved model-alone / end-to-end rounds")
    ap.add_argument("--repeat", type=int, default=1, help="end to end on the posters repeated this many times")
    ap.add_argument("--skip-full", action="store_true", help="skip (d) and (e), the text and full-run timings")
    args = ap.parse_args()
    with open(args.catalog, newline="", encoding="utf-8") as f:
        base = os.path.dirname(os.path.abspath(args.catalog))
        paths = [os.path.join(base, r["poster"]) for r in csv.DictReader(f)][: args.posters]
    enc = poster_encoder(device=args.device)
    embedder, pre, cores = enc.embedder, enc.preprocessing, defaults.cores()
    device = embedder.device
    batch, workers = defaults.batch_size(device), defaults.workers(device)
    load = os.getloadavg()
    print(f"device {device} ({', '.join(embedder.providers)}; feeder {embedder.feeder.name}), {cores} cores, "
          f"{len(paths)} real posters, defaults: batch {batch}, {workers} decode workers "
          f"({defaults.decode_mode(workers)}); load average before {load[0]:.2f}")

    print("(a) decode alone (uint8 224x224x3, start-up included), posters/s")
    print(row("workers", "threads", "processes", "", widths=WIDE))
    for w in sorted({1, 2, max(1, cores // 2), cores}):
        print(row(str(w), f"{decode_alone(paths, pre, w, 'thread', batch):,.0f}",
                  f"{decode_alone(paths, pre, w, 'process', batch):,.0f}", "", widths=WIDE))
    if device == "cuda" and gpu_decode.available():
        t0 = time.perf_counter()
        n = sum(len(ids) for ids, _, _ in gpu_decode.gpu_batches(list(enumerate(paths)), pre, batch, workers))
        print(row("nvJPEG + resize on the GPU (torchvision.io)", f"{n / (time.perf_counter() - t0):,.0f}", "", "",
                  widths=WIDE))

    pixels = [np.stack([load_poster(p, pre) for p in paths[i:i + batch]]) for i in range(0, len(paths), batch)]
    with tempfile.TemporaryDirectory() as tmp:
        sub = subset_catalog(args.catalog, args.posters, tmp, args.repeat)
        mode = defaults.decode_mode(workers)
        other = "thread" if mode == "process" else "process"
        plural = {"thread": "threads", "process": "processes"}
        variants = {f"end to end, defaults ({plural[mode]}, {workers} workers)": {},
                    f"end to end, {plural[other]}, {workers} workers": {"decode": other}}
        if device == "cuda":
            variants.update({f"end to end, processes, {w} workers": {"workers": w} for w in (8, cores) if w != workers})
            if gpu_decode.available():
                variants["end to end, --decode gpu (nvJPEG)"] = {"decode": "gpu"}
        rates = {key: [] for key in ["alone", *variants]}
        for _ in range(args.rounds):
            rates["alone"].append(model_alone(embedder, pixels))
            for i, (key, opts) in enumerate(variants.items()):
                rates[key].append(end_to_end(sub, tmp, str(i), device=args.device, **opts))
        alone = statistics.median(rates["alone"])
        float_host = PosterEmbedder(enc.onnx_path, device=args.device)   # no preprocessing: float NCHW input
        float_host.feeder = HostFeeder(float_host.session, float_host.input_name, float_host.output_name)
        before = model_alone(float_host, [normalise(b, pre) for b in pixels])
        eager = torch_eager(pixels, pre, device)

        def ratio(key):
            return statistics.median(e / a for e, a in zip(rates[key], rates["alone"]))

        print(f"(b, c) posters/s, batch {batch}; end to end on {args.posters * args.repeat:,} rows; "
              f"medians of {args.rounds} interleaved rounds")
        print(row("path", "posters/s", "vs alone", "", widths=WIDE))
        for key in variants:
            print(row(key, f"{statistics.median(rates[key]):,.0f}", f"{ratio(key):.2f}x", "", widths=WIDE))
        print(row("ONNX model alone, uint8 in graph", f"{alone:,.0f}", "1.00x", "", widths=WIDE))
        print(row("ONNX model alone, float NCHW host (before)", f"{before:,.0f}", f"{before / alone:.2f}x", "",
                  widths=WIDE))
        label = "torch eager fp16 channels_last" if device == "cuda" else "torch eager"
        print(row(label, f"{eager:,.0f}", f"{eager / alone:.2f}x", "", widths=WIDE))
        if device == "cuda":   # the last row: the same run on the CPU provider
            cpu = PosterEmbedder(enc.onnx_path, device="cpu", preprocessing=pre)
            small = [b[i:i + defaults.CPU_BATCH] for b in pixels for i in range(0, len(b), defaults.CPU_BATCH)]
            print(row("CPU provider alone, batch 32 / end to end on CPU",
                      f"{model_alone(cpu, small):,.0f} / {end_to_end(sub, tmp, 'cpu', device='cpu'):,.0f}", "", "",
                      widths=WIDE))
            cuda_agreement(enc, embedder, cpu, pixels, paths, batch, workers, alone)
        for key, values in rates.items():
            print(f"    per round, {key}: {[round(r) for r in values]}")
        print(f"    load average after {os.getloadavg()[0]:.2f}")
        if args.skip_full:
            return
        print("(d) overviews/s, all movies")
        for name, rate in text_rates(args.catalog, tmp).items():
            print(row(name, f"{rate:,.0f}", "", ""))
        print("(e) full featurize (posters + all text features), fresh process each")
        print(row("movies", "seconds", "peak RSS MB", ""))
        for n in (1000, 10**9):
            secs, rss = rss_run(args.catalog, n, tmp, args.device)
            print(row("1,000" if n == 1000 else "all", f"{secs:.1f}", f"{rss:.0f}", ""))


if __name__ == "__main__":
    main()
