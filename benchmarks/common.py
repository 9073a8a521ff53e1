"""Timing helpers shared by the benchmarks: medians of repeated runs, printed side by side."""

import resource
import statistics
import time


def seconds(fn, repeats=21, warmup=2) -> list:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def median_seconds(fn, repeats=21, warmup=2):
    return statistics.median(seconds(fn, repeats, warmup))


def peak_rss_mb() -> float:
    """Peak resident set size of this process image (VmHWM; unlike ru_maxrss it is not
    inherited from the parent that forked us)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(*cells, widths=(24, 14, 14, 10)):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))
