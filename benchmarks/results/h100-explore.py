"""Scratch exploration on the GPU machine (not part of the project): session options, model alone
on device-resident input, worker start-up, commit cost. Prints one line per measurement."""
import os, sys, time, json, csv, statistics
import numpy as np
sys.path.insert(0, os.getcwd())
import onnxruntime as ort
from featurize.encoders import poster_encoder
from featurize.posters import PosterEmbedder, cosines
from featurize.feeding import CudaFeeder
from featurize.images import load_poster
from featurize.stream import poster_batches
import torch

cat = sys.argv[1]
base = os.path.dirname(os.path.abspath(cat))
paths = [os.path.join(base, r["poster"]) for r in csv.DictReader(open(cat, newline="", encoding="utf-8"))][:2048]
enc = poster_encoder(device="cuda")
pre = enc.preprocessing
t0 = time.perf_counter(); pix = np.stack([load_poster(p, pre) for p in paths]); t1 = time.perf_counter()
print(f"inline decode 1 core: {len(paths)/(t1-t0):,.0f}/s", flush=True)

def session(precision="fp32", **cuda_opts):
    e = PosterEmbedder(enc.onnx_path, device="cuda", preprocessing=pre, precision=precision)
    model = e._load(enc.onnx_path, pre, precision)
    so = ort.SessionOptions(); so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    t = time.perf_counter()
    s = ort.InferenceSession(model.SerializeToString(), so,
                             providers=[("CUDAExecutionProvider", {k: str(v) for k, v in cuda_opts.items()}), "CPUExecutionProvider"])
    e.session = s; e.feeder = CudaFeeder(s, e.input_name, e.output_name, ort)
    return e, time.perf_counter() - t

def resident_rate(e, batch, reps=20):
    x = torch.from_numpy(pix[:batch]).cuda()
    out = torch.empty((batch, e.dim), dtype=torch.float32, device="cuda")
    def once():
        b = e.session.io_binding()
        b.bind_input(e.input_name, "cuda", 0, np.uint8, tuple(x.shape), x.data_ptr())
        b.bind_output(e.output_name, "cuda", 0, np.float32, tuple(out.shape), out.data_ptr())
        e.session.run_with_iobinding(b)
    t = time.perf_counter(); once(); torch.cuda.synchronize(); first = time.perf_counter() - t
    once(); once(); torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(reps): once()
    torch.cuda.synchronize()
    return batch * reps / (time.perf_counter() - t), first

ref = None
H = {"cudnn_conv_algo_search": "HEURISTIC"}
for label, prec, opts in [("heuristic", "fp32", H), ("heur+nhwc", "fp32", dict(H, prefer_nhwc=1)),
                          ("heur tf32 off", "fp32", dict(H, use_tf32=0))]:
    try:
        e, st = session(prec, **opts)
        rates = {b: resident_rate(e, b) for b in (128, 256, 512)}
        emb = np.concatenate([e.embed(pix[i:i + 256]) for i in range(0, 1024, 256)])
        if ref is None: ref = emb
        c = cosines(emb, ref)
        print(f"{label:10s} session {st:.2f}s  resident " + "  ".join(f"b{b}: {r:,.0f}/s (first {f:.2f}s)" for b, (r, f) in rates.items())
              + f"  cos vs default min {c.min():.6f} med {np.median(c):.6f}", flush=True)
    except Exception as exc:
        print(label, "failed", exc, flush=True)


paths8 = paths * 4
for w in (14, 15, 16):
    t = time.perf_counter(); it = poster_batches(list(enumerate(paths8)), pre, 256, w, mode="process", copy=False)
    next(it); first = time.perf_counter() - t
    n = 256 + sum(len(i) for i, _, _ in it); tot = time.perf_counter() - t
    print(f"decode 8192, {w} procs: first batch {first:.2f}s, {n/tot:,.0f}/s overall, {(n-256)/(tot-first):,.0f}/s after first", flush=True)

from featurize import FeaturizeOptions, featurize
cat8 = os.path.join(base, "movies8k.csv")
for label, kw in [("defaults", {}), ("defaults again", {}), ("commit_every 8192", {"commit_every": 8192}),
                  ("batch 512", {"batch_size": 512}), ("workers 16", {"workers": 16}), ("workers 15", {"workers": 15}),
                  ("defaults 3rd", {}),
                  ("decode gpu", {"decode": "gpu"})]:
    store = f"/tmp/ex-{time.monotonic_ns()}.h5"
    t = time.perf_counter()
    s = featurize(cat8, store, FeaturizeOptions(text=False, device="cuda", **kw))
    r = s.features[-1]
    print(f"e2e 8192 {label:18s}: {r.written} written, {r.rate:,.0f}/s poster stage ({r.seconds:.2f}s), total {time.perf_counter()-t:.2f}s, skipped {len(r.skipped)}", flush=True)
    os.remove(store)
