"""Batch size, decode workers and decode mode chosen from the device and the core count.

Used when the user gives no ``--batch-size`` / ``--workers``. The figures behind each rule
are in the README's benchmark section (``benchmarks/featurize.py`` prints them).
"""

import os

CPU_BATCH, CUDA_BATCH = 32, 256
DECODE_NICE_CPU = 10


def cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def batch_size(device) -> int:
    """A GPU needs big batches to be busy; on a CPU 32 is as fast as larger ones and keeps memory low."""
    return CUDA_BATCH if device == "cuda" else CPU_BATCH


def workers(device, ncores=None) -> int:
    """Decode processes: on a CPU the model needs the cores, so decode gets about one core in eight
    (at least one); on a GPU decoding is the bottleneck, so every core but two (the run and staging
    threads) decodes."""
    n = ncores or cores()
    if device == "cuda":
        return max(1, n - 2)
    return max(1, n // 8)


def decode_mode(workers, n_items=None, batch_size=CPU_BATCH, ncores=None) -> str:
    """Threads on two cores or fewer, processes above; threads for work too small to pay for
    starting processes (a prediction, a request).

    On 2 cores (one decode worker) threads were ahead of or level with processes in each of 5
    interleaved rounds (end to end 0.91x vs 0.88x the model alone; README, Benchmarks):
    process start-up and pipes cost more than the GIL does there. With many cores the GIL caps threads: on 16 cores
    (issue 12) Python threads decoded 1,276 posters/s, uint8 processes 3,239/s.
    """
    if workers < 1:
        return "inline"
    if (n_items is not None and n_items <= 2 * batch_size) or (ncores or cores()) <= 2:
        return "thread"
    return "process"


def decode_nice(device) -> int:
    """On a CPU the model's threads come first: decode processes run niced and fill the moments
    those threads wait (end of a parallel loop, between runs). On a GPU decoding is the bottleneck."""
    return 0 if device == "cuda" else DECODE_NICE_CPU
