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
    """Threads for one or two decoders, processes for more; threads for work too small to pay
    for starting processes (a prediction, a request).

    Two threads decode about twice what one does (the GIL is released while Pillow decodes);
    past that the GIL caps them (16-core H100 machine: 1,007 / 1,512 / 2,301 posters/s for
    1 / 2 / 8 threads, 14 processes 7,900/s once started). With one or two decoders threads
    were ahead: on 2 cores end to end 0.91x vs 0.88x the model alone, on the 16-core CPU
    provider 0.77-0.90x vs 0.52-0.73x (README, Benchmarks): process start-up and pipes cost more there.
    ``ncores`` is kept for callers; the rule depends on the number of decoders.
    """
    if workers < 1:
        return "inline"
    if (n_items is not None and n_items <= 2 * batch_size) or workers <= 2:
        return "thread"
    return "process"


def decode_nice(device) -> int:
    """On a CPU the model's threads come first: decode processes run niced and fill the moments
    those threads wait (end of a parallel loop, between runs). On a GPU decoding is the bottleneck."""
    return 0 if device == "cuda" else DECODE_NICE_CPU
