"""Scratch (not part of the project): TF32 on/off vs the CPU provider, e2e with each, worker start-up breakdown."""
import os, sys, time, csv, subprocess
import numpy as np
sys.path.insert(0, os.getcwd())
from featurize import posters as P
from featurize.encoders import poster_encoder
from featurize.posters import PosterEmbedder, cosines
from featurize.images import load_poster
from featurize.stream import WORKER_BOOT, poster_batches
from featurize import FeaturizeOptions, featurize

cat = sys.argv[1]
base = os.path.dirname(os.path.abspath(cat))
paths = [os.path.join(base, r["poster"]) for r in csv.DictReader(open(cat, newline="", encoding="utf-8"))][:2048]
enc = poster_encoder(device="cuda"); pre = enc.preprocessing
pix = [np.stack([load_poster(p, pre) for p in paths[i:i + 256]]) for i in range(0, len(paths), 256)]
cpu = PosterEmbedder(enc.onnx_path, device="cpu", preprocessing=pre)
ref = np.concatenate([cpu.embed(b) for b in pix])
default_opts = dict(P.CUDA_OPTIONS)
for label, opts in [("tf32 on (current)", default_opts), ("tf32 off", dict(default_opts, use_tf32="0"))]:
    P.CUDA_OPTIONS = opts
    e = PosterEmbedder(enc.onnx_path, device="cuda", preprocessing=pre)
    e.embed(pix[0])
    t = time.perf_counter(); emb = np.concatenate([e.embed(b) for b in pix]); rate = len(emb) / (time.perf_counter() - t)
    c = cosines(emb, ref)
    print(f"{label:18s} model alone (IO binding) {rate:,.0f}/s; cosine to CPU provider min {c.min():.7f} median {np.median(c):.7f}", flush=True)
cat8 = os.path.join(base, "movies8k.csv")
for label, opts in [("tf32 on", default_opts), ("tf32 off", dict(default_opts, use_tf32="0"))] * 2:
    P.CUDA_OPTIONS = opts
    store = f"/tmp/ex2-{time.monotonic_ns()}.h5"
    t = time.perf_counter()
    r = featurize(cat8, store, FeaturizeOptions(text=False, device="cuda")).features[-1]
    print(f"e2e 8192 defaults, {label:8s}: {r.rate:,.0f}/s poster stage ({r.seconds:.2f}s), total {time.perf_counter()-t:.2f}s", flush=True)
    os.remove(store)
P.CUDA_OPTIONS = default_opts
env = dict(os.environ)
for label, code in [("python -c pass", "pass"), ("worker imports", WORKER_BOOT.replace("main(*map(int, sys.argv[1:4]))", "pass"))]:
    ts = []
    for _ in range(3):
        t = time.perf_counter(); subprocess.run([sys.executable, "-c", code], env=env, check=True); ts.append(time.perf_counter() - t)
    print(f"start-up, one at a time, {label}: {min(ts):.3f}s", flush=True)
    t = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env) for _ in range(14)]
    spawned = time.perf_counter() - t
    for p in procs: p.wait()
    print(f"start-up, 14 at once, {label}: all done {time.perf_counter() - t:.3f}s (Popen calls {spawned:.3f}s)", flush=True)
for w in (14,):
    t = time.perf_counter(); it = poster_batches(list(enumerate(paths * 4)), pre, 256, w, mode="process", copy=False)
    next(it); first = time.perf_counter() - t
    n = 256 + sum(len(i) for i, _, _ in it); tot = time.perf_counter() - t
    print(f"decode 8192, {w} procs: first batch {first:.2f}s, {(n-256)/(tot-first):,.0f}/s after first", flush=True)
