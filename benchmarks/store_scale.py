"""The feature store at catalog scale: commits, appends, lookups and similar-poster search.

    python benchmarks/store_scale.py [--sizes 10000,100000,1000000] [--dir /tmp] [--append 100000]
    python benchmarks/store_scale.py --code /path/to/old/checkout --sizes 10000,50000 --commit-only

For each size it builds a store of that many rows of a 1,280-d float32 feature through the
public API (blocks of 32,768 rows), then measures, each in a fresh subprocess: one commit
of 1,024 new rows (seconds and peak RSS); lookups of 1 / 100 / 1,000 / 10,000 random ids
against a numpy memmap of the same matrix (medians, same process); similar-poster queries
(p50 / p99 and recall@10 against exact search), each at ``rows + 1,024`` rows. Last, at
the smallest size, it appends ``--append`` rows in 1,024-row commits. Stores are deleted afterwards. ``--code`` runs the
same measurements against another checkout (e.g. the v1 code, for the "before" figures).

Vectors: when the real store (``--real``, default the baseline's) is present, rows are
sampled around its poster embeddings (a real embedding + a spread in its 32 main
directions + a little noise), so neighbours mean something; otherwise around 2,000 random
centres. Uniformly random vectors have no neighbour structure and would misjudge recall.
"""

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.common import peak_rss_mb, seconds  # noqa: E402

FEATURE = "poster/bench"
PROV = {"encoder": "synthetic", "sha256": "0" * 64, "preprocessing": "none"}
BLOCK = 32_768
COMMIT = 1_024
DEFAULT_REAL = "/work/baseline/out/store.h5"


# -- vectors: deterministic per row block, so every process regenerates the same rows ----------
class Vectors:
    def __init__(self, real_path, dim):
        self.dim, self.source = dim, "random centres"
        base = None
        if real_path and os.path.exists(real_path):
            from store import FeatureStore
            with FeatureStore.open(real_path) as s:
                name = next((n for n in s.features() if n.startswith("poster/")), None)
                if name:
                    base = s.matrix(name)[1]
                    self.source = f"around the {len(base):,} real poster embeddings of {real_path}"
        if base is None or base.shape[1] != dim:
            base = np.random.default_rng(99).normal(size=(2000, dim)).astype(np.float32)
        self.base = base
        centred = base - base.mean(axis=0)
        _, sv, vt = np.linalg.svd(centred[:4000], full_matrices=False)
        self.spread = (vt[:32] * (sv[:32, None] / np.sqrt(len(centred)))).astype(np.float32)
        self.noise = float(centred.std()) * 0.05

    def rows(self, start, count):
        rng = np.random.default_rng(start)
        x = self.base[rng.integers(0, len(self.base), count)]
        x = x + rng.standard_normal((count, 32), dtype=np.float32) @ self.spread * 0.5
        return (x + rng.standard_normal((count, self.dim), dtype=np.float32) * self.noise).astype(np.float32)


def movie_ids(stop, start=0):
    return [f"tt{i:08d}" for i in range(start, stop)]


# -- children (run in fresh processes, with the code under test on sys.path) -----------------
def child_build(a):
    from store import FeatureStore
    total = a.rows + COMMIT + a.append
    ids = movie_ids(total)
    vec = Vectors(a.real, a.dim)
    with FeatureStore.open(a.path, "a") as s:
        s.replace_movies({"id": ids, "title": ids, "overview": [""] * total, "poster": [""] * total,
                          "poster_sha256": [""] * total, "year": [2000] * total, "decade": [2000] * total},
                         np.zeros((total, 1), np.uint8), ["Drama"])
        for start in range(0, a.rows, BLOCK):
            count = min(BLOCK, a.rows - start)
            s.write_features(FEATURE, ids[start:start + count], vec.rows(start, count), PROV)
    np.save(a.path + ".commit.npy", vec.rows(a.rows, COMMIT))   # so the commit's process does only the commit
    return {"source": vec.source}


def child_commit(a):
    from store import FeatureStore
    ids = movie_ids(a.rows + COMMIT, a.rows)       # only these: a list of all ids would weigh on the RSS
    rows = np.load(a.path + ".commit.npy")
    with FeatureStore.open(a.path, "a") as s:
        t0 = time.perf_counter()
        s.write_features(FEATURE, ids, rows, PROV)
        seconds = time.perf_counter() - t0
    return {"seconds": seconds, "peak_rss_mb": peak_rss_mb()}


def child_append(a):
    from store import FeatureStore
    start = a.rows + COMMIT
    ids = movie_ids(start + a.append)
    pool = Vectors(a.real, a.dim).rows(start, 8 * COMMIT)
    spent = 0.0
    cpu0 = cpu_seconds()
    with FeatureStore.open(a.path, "a") as s:
        for k, at in enumerate(range(start, start + a.append, COMMIT)):
            chunk = ids[at:at + COMMIT]
            rows = pool[(k % 8) * COMMIT:][:len(chunk)] + np.float32(k * 1e-3)
            t0 = time.perf_counter()
            s.write_features(FEATURE, chunk, rows, PROV)
            spent += time.perf_counter() - t0
        segments = s.feature_info(FEATURE)["segments"] if hasattr(s, "version") else 1
    commits = -(-a.append // COMMIT)
    return {"rows": a.append, "seconds": spent, "rows_per_s": a.append / spent, "segments": segments,
            "cpu_ms_per_commit": 1e3 * (cpu_seconds() - cpu0) / commits}


def cpu_seconds():
    """CPU time of this process, all threads: what a busy shared machine cannot inflate much."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def child_lookup(a):
    from store import FeatureStore
    mm = np.load(a.npy, mmap_mode="r")
    out = {}
    for state in ("as built", "compacted"):
        if state == "compacted":
            with FeatureStore.open(a.path, "a") as w:
                w.compact()
        rng = np.random.default_rng(1)
        with FeatureStore.open(a.path) as s:
            ids = s.feature_ids(FEATURE)
            row_of = {m: i for i, m in enumerate(ids)}
            res = {"segments": s.feature_info(FEATURE).get("segments", 1)}
            for k in (1, 100, 1_000, 10_000):
                query = [ids[i] for i in rng.integers(0, len(ids), size=k)]
                rows = np.fromiter((row_of[q] for q in query), np.int64, count=k)
                assert np.array_equal(s.lookup(query, FEATURE), mm[rows])
                t_store, t_mm = [], []
                for _ in range(3):     # interleaved, so both see the same load; medians and fastest of 63
                    t_store += seconds(lambda: s.lookup(query, FEATURE))
                    t_mm += seconds(lambda: np.asarray(mm[np.fromiter((row_of[q] for q in query), np.int64, count=k)]))
                res[k] = (np.median(t_store) * 1e3, np.median(t_mm) * 1e3, min(t_store) * 1e3, min(t_mm) * 1e3)
        out[state] = res
        if not hasattr(FeatureStore, "compact"):   # the v1 code has one matrix and nothing to compact
            break
    return out


def child_similar(a):
    from store import FeatureStore, similar
    rng = np.random.default_rng(2)
    with FeatureStore.open(a.path) as s:
        ids = s.feature_ids(FEATURE)
        t0 = time.perf_counter()
        index = similar.similar_index(s, FEATURE)
        build = time.perf_counter() - t0
        kind = type(index).__name__
        queries = [ids[i] for i in rng.integers(0, len(ids), size=a.queries)]
        index.nearest(queries[0], 10)
        times, answers = [], {}
        for q in queries:
            t0 = time.perf_counter()
            answers[q] = [m for m, _ in index.nearest(q, 10)]
            times.append(time.perf_counter() - t0)
        recall = _recall(a.npy, ids, queries[:a.recall_queries], answers)
    return {"index": kind, "build_s": build, "p50_ms": float(np.percentile(times, 50) * 1e3),
            "p99_ms": float(np.percentile(times, 99) * 1e3), "recall_at_10": recall, "recall_queries": a.recall_queries}


def _recall(npy, ids, queries, answers, block=65_536):
    """recall@10 against an exact scan of the memmapped matrix, all queries in one pass."""
    mm = np.load(npy, mmap_mode="r")
    row_of = {m: i for i, m in enumerate(ids)}
    q = np.asarray(mm[[row_of[m] for m in queries]], np.float32)
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    best_s = np.full((len(queries), 11), -np.inf, np.float32)
    best_i = np.zeros((len(queries), 11), np.int64)
    for start in range(0, len(mm), block):
        x = np.asarray(mm[start:start + block], np.float32)
        sims = (q @ (x / np.linalg.norm(x, axis=1, keepdims=True)).T)
        s_all = np.concatenate([best_s, sims], axis=1)
        i_all = np.concatenate([best_i, np.arange(start, start + len(x))[None, :].repeat(len(q), 0)], axis=1)
        top = np.argpartition(-s_all, 10, axis=1)[:, :11]
        best_s, best_i = np.take_along_axis(s_all, top, 1), np.take_along_axis(i_all, top, 1)
    hits = []
    for k, m in enumerate(queries):
        ranked = best_i[k][np.argsort(-best_s[k], kind="stable")]
        exact = [ids[i] for i in ranked if i != row_of[m]][:10]
        hits.append(len(set(exact) & set(answers[m])) / 10)
    return float(np.mean(hits))


def child_npy(a):
    """The same live matrix as a plain .npy (the memmap baseline), written in store order."""
    from store import FeatureStore
    with FeatureStore.open(a.path) as s:
        ids = s.feature_ids(FEATURE)
        out = np.lib.format.open_memmap(a.npy, mode="w+", dtype=np.float32, shape=(len(ids), a.dim))
        for start in range(0, len(ids), BLOCK):
            out[start:start + BLOCK] = s.lookup(ids[start:start + BLOCK], FEATURE)
        out.flush()
    return {"rows": len(ids)}


CHILDREN = {"build": child_build, "commit": child_commit, "append": child_append, "lookup": child_lookup,
            "similar": child_similar, "npy": child_npy}


def run_child(role, a, path, rows, **extra):
    args = [sys.executable, os.path.abspath(__file__), "--child", role, "--code", a.code, "--path", path, "--rows", str(rows),
            "--dim", str(a.dim), "--real", a.real or "", "--append", str(extra.get("append", 0)),
            "--npy", path + ".npy", "--queries", str(a.queries), "--recall-queries", str(a.recall_queries)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([a.code, ROOT]))
    done = subprocess.run(args, env=env, capture_output=True, text=True, cwd=a.code)
    if done.returncode:
        raise SystemExit(f"{role} at {rows:,} rows failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def verdict(ok):
    return "PASS" if ok else "MISS"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--dim", type=int, default=1280)
    ap.add_argument("--dir", default=None, help="where to build the stores (default: a temp folder)")
    ap.add_argument("--append", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--recall-queries", type=int, default=100)
    ap.add_argument("--real", default=DEFAULT_REAL)
    ap.add_argument("--code", default=ROOT, help="checkout whose `store` package is measured")
    ap.add_argument("--commit-only", action="store_true", help="only build + one commit (e.g. for the v1 code)")
    ap.add_argument("--child", choices=sorted(CHILDREN))
    ap.add_argument("--path")
    ap.add_argument("--rows", type=int)
    ap.add_argument("--npy")
    a = ap.parse_args()
    if a.child:
        sys.path.insert(0, a.code)
        print(json.dumps(CHILDREN[a.child](a), default=float))
        return
    sizes = [int(x) for x in a.sizes.split(",")]
    base = a.dir or os.environ.get("TMPDIR", "/tmp")
    need = max(sizes) * a.dim * 4 * 2.3
    free = shutil.disk_usage(base).free
    if free < need:
        raise SystemExit(f"{base} has {free / 1e9:.1f} GB free; the {max(sizes):,}-row run needs {need / 1e9:.1f} GB")
    work = os.path.join(base, f"store_scale-{os.getpid()}")
    os.makedirs(work)
    print(f"code: {a.code}; load average at start: {os.getloadavg()}")
    results = {}
    try:
        for n in sizes:
            path = os.path.join(work, f"s{n}.h5")
            append = a.append if (n == sizes[0] and not a.commit_only) else 0
            t0 = time.perf_counter()
            built = run_child("build", a, path, n, append=append)
            r = {"build_s": time.perf_counter() - t0, "source": built["source"]}
            r["commit"] = run_child("commit", a, path, n)
            print(f"{n:>9,} rows: built in {r['build_s']:.0f} s; one {COMMIT:,}-row commit "
                  f"{r['commit']['seconds']:.3f} s, peak RSS {r['commit']['peak_rss_mb']:.0f} MB", flush=True)
            if not a.commit_only:
                run_child("npy", a, path, n)
                r["lookup"] = run_child("lookup", a, path, n)
                r["similar"] = run_child("similar", a, path, n)
                print(f"   lookups {r['lookup']}; similar {r['similar']}", flush=True)
                if append:
                    r["append"] = run_child("append", a, path, n, append=append)
                    print(f"   append {append:,} rows in {COMMIT:,}-row commits: {r['append']['rows_per_s']:,.0f} rows/s, "
                          f"{r['append']['cpu_ms_per_commit']:.1f} ms CPU per commit "
                          f"({r['append']['segments']} segments after)", flush=True)
            results[n] = r
            shutil.rmtree(work)
            os.makedirs(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report(results, sizes, a)


def report(results, sizes, a):
    lo, hi = results[sizes[0]], results[sizes[-1]]
    print(f"\nvectors: {lo['source']}; load average at end: {os.getloadavg()}")
    print(f"\n| rows stored | one {COMMIT:,}-row commit s | peak RSS MB |")
    print("|---|---|---|")
    for n in sizes:
        c = results[n]["commit"]
        print(f"| {n:,} | {c['seconds']:.3f} | {c['peak_rss_mb']:.0f} |")
    if a.commit_only:
        return
    print("\n| rows | segments | ids per lookup | store ms | memmap ms | ratio | fastest: store / memmap ms | ratio |")
    print("|---|---|---|---|---|---|---|---|")
    for n in sizes:
        for state, res in results[n]["lookup"].items():
            for k in ("1", "100", "1000", "10000"):
                s, m, s_min, m_min = res[k]
                print(f"| {n:,} | {res['segments']} ({state}) | {int(k):,} | {s:.3f} | {m:.3f} | {s / m:.2f}x "
                      f"| {s_min:.3f} / {m_min:.3f} | {s_min / m_min:.2f}x |")
    print("\n| rows | similar index | build s | p50 ms | p99 ms | recall@10 |")
    print("|---|---|---|---|---|---|")
    for n in sizes:
        s = results[n]["similar"]
        print(f"| {n:,} | {s['index']} | {s['build_s']:.1f} | {s['p50_ms']:.2f} | {s['p99_ms']:.2f} | {s['recall_at_10']:.3f} |")
    t_ratio = hi["commit"]["seconds"] / lo["commit"]["seconds"]
    m_ratio = hi["commit"]["peak_rss_mb"] / lo["commit"]["peak_rss_mb"]
    built, compacted = hi["lookup"]["as built"], hi["lookup"]["compacted"]
    sim = hi["similar"]
    rows = [
        (f"commit time {sizes[-1]:,} / {sizes[0]:,}", f"{t_ratio:.2f}x", "<= 2x", t_ratio <= 2),
        (f"append {a.append:,} rows, {COMMIT:,}-row commits", f"{lo['append']['rows_per_s']:,.0f} rows/s "
         f"({lo['append']['cpu_ms_per_commit']:.1f} ms CPU per commit)", ">= 20,000", lo["append"]["rows_per_s"] >= 20_000),
        (f"peak RSS of a commit {sizes[-1]:,} / {sizes[0]:,}", f"{m_ratio:.2f}x", "<= 1.5x", m_ratio <= 1.5),
        (f"lookup 1,000 ids vs memmap at {sizes[-1]:,}, {built['segments']} segments (as built)",
         f"{built['1000'][0] / built['1000'][1]:.2f}x", "<= 2x", built["1000"][0] <= 2 * built["1000"][1]),
        (f"lookup 1,000 ids vs memmap at {sizes[-1]:,}, compacted", f"{compacted['1000'][0] / compacted['1000'][1]:.2f}x",
         "<= 2x", compacted["1000"][0] <= 2 * compacted["1000"][1]),
        (f"lookup 1 id at {sizes[-1]:,}", f"{built['1'][0]:.3f} ms", "< 0.5 ms", built["1"][0] < 0.5),
        (f"similar p99 at {sizes[-1]:,}", f"{sim['p99_ms']:.1f} ms", "< 20 ms", sim["p99_ms"] < 20),
        (f"similar recall@10 at {sizes[-1]:,}", f"{sim['recall_at_10']:.3f}", ">= 0.95", sim["recall_at_10"] >= 0.95),
    ]
    print("\n| target | measured | goal | |")
    print("|---|---|---|---|")
    for name, got, goal, ok in rows:
        print(f"| {name} | {got} | {goal} | {verdict(ok)} |")


if __name__ == "__main__":
    main()
