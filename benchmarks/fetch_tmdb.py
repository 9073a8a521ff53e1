"""fetch-tmdb's achieved request rate vs its configured limit, against the fake TMDb on loopback.

    python benchmarks/fetch_tmdb.py [--rates 10,20,40,80] [--concurrency 4] [--seconds 3] [--repeats 3]

For each limit, fetches enough movies (posters included) for about ``--seconds`` of requests
into a fresh folder and reads the request arrival times the fake server logged. Prints the
median over repeats of: achieved rate (requests after the first burst / time span), its ratio
to the limit, and the most requests seen in any 1-second window (the limit's own bound is
rate + burst, burst = min(rate, concurrency)). The "unlimited" row (limit 1e6) is the fake's
and client's own capacity on this machine: a limit well below it is what the run measures.
"""

import argparse
import os
import statistics
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.common import row  # noqa: E402
from featurize.tmdb import FetchOptions, fetch_tmdb  # noqa: E402
from featurize.tmdb.credentials import Credentials  # noqa: E402
from tests.fake_tmdb import KEY, FakeTmdb  # noqa: E402


def one_run(rate, concurrency, per_year):
    with FakeTmdb(default_per_year=per_year) as fake, tempfile.TemporaryDirectory() as out:
        opts = FetchOptions(years=[1950, 1951], per_year=per_year, rate=rate, concurrency=concurrency,
                            api_url=fake.api_url, image_url=fake.image_url)
        summary = fetch_tmdb(out, opts, credentials=Credentials("api_key", KEY, "bench"))
        times = sorted(t for t, _, _ in fake.log)
    burst = min(rate, concurrency)
    achieved = (len(times) - burst) / (times[-1] - times[0])
    j, worst = 0, 0
    for i, start in enumerate(times):
        while j < len(times) and times[j] < start + 1.0:
            j += 1
        worst = max(worst, j - i)
    return achieved, worst, summary.requests["requests"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="10,20,40,80")
    ap.add_argument("--concurrency", type=int, default=4)
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    widths = (12, 10, 12, 8, 14, 10)
    print(row("limit (req/s)", "requests", "achieved/s", "ratio", "max in 1 s", "bound", widths=widths))
    for rate in [float(r) for r in args.rates.split(",")] + [1e6]:
        per_year = 60 if rate >= 1e6 else max(5, int(rate * args.seconds / 2.2))   # ~2.1 requests per movie
        runs = [one_run(rate, args.concurrency, per_year) for _ in range(args.repeats)]
        achieved = statistics.median(r[0] for r in runs)
        worst = statistics.median(r[1] for r in runs)
        label = "unlimited" if rate >= 1e6 else f"{rate:g}"
        ratio = "-" if rate >= 1e6 else f"{achieved / rate:.3f}"
        bound = "-" if rate >= 1e6 else f"{rate + min(rate, args.concurrency):g}"
        print(row(label, runs[0][2], f"{achieved:.1f}", ratio, f"{worst:g}", bound, widths=widths))


if __name__ == "__main__":
    main()
