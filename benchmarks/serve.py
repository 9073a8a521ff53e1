"""HTTP service throughput and latency on loopback, measured side by side in one run.

    python benchmarks/serve.py --store out/store.h5 --models out/models [--requests 256] [--compare REV]
    python benchmarks/serve.py ... --compare main --memory-feature overview/tfidf [--memory-ids 400]

Starts `onesheet serve` in a subprocess (with --compare, also the server of git revision REV,
extracted with `git archive` to a temporary folder, measured alternately with this one so
both see the same machine load; the ratio column is this tree / REV), drives it with wrk (`apt-get install wrk`; an
asyncio httpx load generator when wrk is missing) at concurrency 1, 8 and 32, and prints requests/s, p50 and p99 for POST /predict (real
posters) and GET /embeddings/{id}. The ONNX model's batch-32 throughput on pre-decoded
tensors is measured in the same run. Targets (2 cores): /predict at concurrency 32 >=
0.7x the model's batch-32 throughput; /embeddings p99 <= 20 ms. The load generator shares
the two cores with the server, so the figures are a floor.
"""

import argparse
import asyncio
import concurrent.futures
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import httpx
import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.common import row  # noqa: E402
from classifiers import Predictor  # noqa: E402
from featurize.images import load_poster  # noqa: E402
from store import FeatureStore  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def load(base, make_request, concurrency, total):
    latencies, statuses = [], []
    queue = list(range(total))

    async def worker(client):
        while queue:
            i = queue.pop()
            t0 = time.perf_counter()
            r = await make_request(client, i)
            latencies.append(time.perf_counter() - t0)
            statuses.append(r.status_code)

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(client) for _ in range(concurrency)))
        wall = time.perf_counter() - t0
    bad = sum(s != 200 for s in statuses)
    lat = np.array(latencies) * 1e3
    return total / wall, float(np.percentile(lat, 50)), float(np.percentile(lat, 99)), bad


def _ms(text):
    value, unit = float(text[:-2] if text.endswith(("ms", "us")) else text[:-1]), text[-2:] if text[-2:] in ("ms", "us") else text[-1]
    return value * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]


def wrk(base, script, concurrency, seconds, tmp):
    """Drive the server with wrk (C, event-driven): (req/s, p50 ms, p99 ms, non-2xx)."""
    path = os.path.join(tmp, "bench.lua")
    with open(path, "w") as f:
        f.write(script)
    out = subprocess.run(["wrk", "-t", str(min(2, concurrency)), "-c", str(concurrency), "-d", f"{seconds}s",
                          "--latency", "-s", path, base], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return rate, _ms(pct["50"]), _ms(pct["99"]), int(bad.group(1)) if bad else 0


def multipart(blob, year="1995"):
    boundary = "onesheetbenchboundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"poster\"; filename=\"p.jpg\"\r\n"
            f"Content-Type: image/jpeg\r\n\r\n").encode() + blob + (
            f"\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"year\"\r\n\r\n{year}\r\n"
            f"--{boundary}--\r\n").encode()
    return body, f"multipart/form-data; boundary={boundary}"


def model_batch32(models_dir, posters):
    p = Predictor(models_dir)
    enc = next(iter(p.featurizer(p.poster_features()).posters.values()))
    batch = np.stack([load_poster(x, enc.preprocessing) for x in posters[:32]])
    enc.embedder.embed(batch)
    t0, n = time.perf_counter(), 0
    while time.perf_counter() - t0 < 5:
        enc.embedder.embed(batch)
        n += 32
    return n / (time.perf_counter() - t0)


def start_server(source, store, models, env=None):
    """`onesheet serve` from the source tree ``source``; returns (process, base url) once /health answers."""
    port = free_port()
    env = dict(os.environ, PYTHONPATH=source, **(env or {}))
    proc = subprocess.Popen([sys.executable, "-m", "onesheet", "serve", "--store", store, "--models", models,
                             "--port", str(port)], cwd=source, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    for _ in range(1200):
        try:
            if httpx.get(base + "/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.1)
    proc.terminate()
    raise RuntimeError(f"server from {source} did not start")


def peak_rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024


def embeddings_memory(servers, feature, ids, concurrency=8):
    """Peak RSS growth of each server while ``concurrency`` clients POST /embeddings of ``ids`` at once."""
    def one(base):
        return httpx.post(base + "/embeddings", json={"ids": ids, "feature": feature}, timeout=600)

    for label, (proc, base) in servers.items():
        before = peak_rss_mib(proc.pid)
        with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
            answers = list(pool.map(one, [base] * concurrency))
        statuses = sorted({r.status_code for r in answers})
        print(f"{label}: {concurrency} x POST /embeddings of {len(ids)} {feature} ids "
              f"({len(answers[0].content) / 2**20:.1f} MiB answers, status {statuses}): "
              f"peak RSS +{peak_rss_mib(proc.pid) - before:.0f} MiB")


def checkout(rev, tmp):
    """The tree of git revision ``rev`` in a fresh folder (git archive: the repository is not touched)."""
    dest = os.path.join(tmp, "rev")
    os.makedirs(dest)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--models", required=True)
    ap.add_argument("--requests", type=int, default=256, help="requests per run (python client)")
    ap.add_argument("--seconds", type=int, default=8, help="seconds per run (wrk)")
    ap.add_argument("--python-client", action="store_true", help="use the httpx load generator even if wrk exists")
    ap.add_argument("--compare", metavar="REV", help="also measure the server of git revision REV (e.g. main)")
    ap.add_argument("--memory-feature", metavar="NAME", help="only measure peak RSS under 8 concurrent "
                                                             "POST /embeddings of this feature (e.g. overview/tfidf)")
    ap.add_argument("--memory-ids", type=int, default=400, help="ids per request for --memory-feature")
    args = ap.parse_args()
    with FeatureStore.open(args.store) as s:
        movies = s.movies()
        posters = [p for p in movies["poster"] if p][:400]
        ids = s.feature_ids("poster/efficientnet-lite0")
    blobs = [open(p, "rb").read() for p in posters]
    alone = model_batch32(args.models, posters)
    tmp = tempfile.mkdtemp()
    servers = {}                    # REV first: each row of this tree is printed with its ratio to REV's
    if args.compare:
        servers[args.compare] = start_server(checkout(args.compare, tmp), os.path.abspath(args.store),
                                             os.path.abspath(args.models))
    servers["this tree"] = start_server(ROOT, os.path.abspath(args.store), os.path.abspath(args.models))
    try:
        if args.memory_feature:     # fresh servers: their peak RSS is not yet raised by other requests
            with FeatureStore.open(args.store) as s:
                embeddings_memory(servers, args.memory_feature, s.feature_ids(args.memory_feature)[:args.memory_ids])
            return

        async def predict(client, i):
            return await client.post("/predict", files={"poster": ("p.jpg", blobs[i % len(blobs)])},
                                      data={"year": "1995"})

        async def embedding(client, i):
            return await client.get(f"/embeddings/{random.choice(ids)}")

        print(f"ONNX model alone, batch 32, pre-decoded: {alone:.0f} posters/s")
        use_wrk = shutil.which("wrk") is not None and not args.python_client
        print(f"load generator: {'wrk' if use_wrk else 'python httpx (apt-get install wrk for a faster one)'}")
        widths = (40, 10, 10, 10, 12)
        print(row("server: endpoint @ concurrency", "req/s", "p50 ms", "p99 ms", "req/s ratio", widths=widths))
        results = {}
        body_path = os.path.join(tmp, "body.bin")
        body, ctype = multipart(blobs[0])
        with open(body_path, "wb") as f:
            f.write(body)
        scripts = {
            "/predict": (f'wrk.method = "POST"\nlocal f = io.open("{body_path}", "rb")\nwrk.body = f:read("*all")\n'
                         f'f:close()\nwrk.headers["Content-Type"] = "{ctype}"\n'),
            "/embeddings/{id}": ("ids = {" + ",".join(f'"{m}"' for m in ids[:2000]) + "}\n"
                                 'request = function() return wrk.format("GET", "/embeddings/" .. ids[math.random(#ids)]) end\n'),
        }
        for name, fn, total in (("/predict", predict, args.requests), ("/embeddings/{id}", embedding, args.requests * 4)):
            for _, base in servers.values():
                asyncio.run(load(base, fn, 8, 32))  # warm-up
            for c in (1, 8, 32):
                for label, (_, base) in servers.items():
                    if use_wrk:
                        url = base + ("/predict" if name == "/predict" else "/")
                        rate, p50, p99, bad = wrk(url, scripts[name], c, args.seconds, tmp)
                    else:
                        rate, p50, p99, bad = asyncio.run(load(base, fn, c, total))
                    results[(label, name, c)] = (rate, p99)
                    ratio = f"{rate / results[(args.compare, name, c)][0]:.2f}x" if label == "this tree" and args.compare else ""
                    note = f"  ({bad} non-200)" if bad else ""
                    print(row(f"{label}: {name} @ {c}", f"{rate:.0f}", f"{p50:.1f}", f"{p99:.1f}", ratio,
                              widths=widths) + note)
        for label in servers:
            print(f"{label}: /predict @ 32 vs model alone: {results[(label, '/predict', 32)][0] / alone:.2f}x; "
                  f"/embeddings worst p99: {max(v[1] for k, v in results.items() if k[0] == label and k[1] != '/predict'):.1f} ms")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
