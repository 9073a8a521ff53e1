"""The main job end to end: featurize -> fit -> evaluate, one call.

The library never prints: it reports what happens through ``on_event(kind, payload)``
as it happens, and the CLI decides what to show:

- ``("stage", {"name", "estimate_s", "movies"})`` before each stage starts;
- ``("stage_done", {"name", "seconds"})`` after it;
- ``("featurized", summary)`` once features are stored (the featurize summary);
- ``("fit", FitResult)`` after each fit call (the fit summary);
- ``("config", {"result", "cross_era"})`` as each configuration is scored.
"""

import csv
import os
import time
from dataclasses import dataclass

from featurize import FeaturizeOptions, featurize
from threadpoolctl import threadpool_limits

from ..model.decades import COMPARISON_CONFIGS, DEFAULT_CONFIGS, FULL_POSTER, FitOptions, fit
from ..reports.evaluation import build
from .evaluate import evaluate

# The main job fits the comparison heads (nb, mlp) as pooled models only, without the
# balancing comparison: the MLP's fits were the bulk of the job's time, and its per-decade
# models, balancing and cross-era refits answer nothing the default models do not (the
# head comparison uses pooled models). `onesheet fit --head mlp` and `onesheet evaluate`
# still do all of it.
COMPARISON_OPTIONS = FitOptions(decades=[], compare_balance=False)
# Wall seconds per stage measured for the 6,301 real movies on 2 idle cores (README, "The
# main job's time"); estimates scale them by movies and cores.
MEASURED = {"movies": 6301, "cores": 2, "featurize": 83.0, "fit": 83.0, "evaluate": 33.0}


def estimate(stage, movies, cores=None):
    """Rough seconds a stage will take: the measured figure scaled by movies and cores."""
    cores = max(1, min(cores or os.cpu_count() or 1, 16))
    return MEASURED[stage] * movies / MEASURED["movies"] * MEASURED["cores"] / cores


def cpu_seconds():
    """User + system CPU time so far of this process and of its finished child processes."""
    try:
        import resource
    except ImportError:  # not on Unix: this process only
        return time.process_time()
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def catalog_rows(catalog):
    """Data rows of a catalog CSV (for the time estimate only; ingest does the real reading)."""
    try:
        with open(catalog, newline="", encoding="utf-8", errors="replace") as f:
            return max(0, sum(1 for _ in csv.reader(f)) - 1)
    except (OSError, csv.Error):
        return 0


# the whole-poster embedding, the defaults' poster feature (see decades.FULL_POSTER)
RUN_POSTER_MODEL = FULL_POSTER.split("/", 1)[1]

@dataclass
class JobResult:
    store: str
    models: str
    report: str
    featurize_summary: object
    metrics: dict
    seconds: dict
    cpu_seconds: dict  # user + system CPU per stage, this process and its finished workers


def _no_events(kind, payload):
    pass


def run_job(catalog, out_dir, featurize_options=None, progress=None, compare_heads=True, on_event=None):
    """Featurize ``catalog`` into OUT/store.h5, fit into OUT/models, report into OUT/report."""
    on_event = on_event or _no_events
    os.makedirs(out_dir, exist_ok=True)
    store, models, report = (os.path.join(out_dir, p) for p in ("store.h5", "models", "report"))
    seconds, cpu = {}, {}
    movies = catalog_rows(catalog)

    def stage(name, work):
        on_event("stage", {"name": name, "movies": movies, "cores": os.cpu_count(), "estimate_s": estimate(name, movies)})
        t0, c0 = time.perf_counter(), cpu_seconds()
        if name == "featurize":
            out = work()
        else:
            # one BLAS thread: the SVM head already fits genres in parallel threads, and a
            # multi-threaded BLAS beside them (or beside other work on the machine) spins:
            # one MLP fit took 91 s of CPU with OpenBLAS' default threads on the busy machine
            # and 9.6 s with one thread
            with threadpool_limits(limits=1, user_api="blas"):
                out = work()
        seconds[name], cpu[name] = time.perf_counter() - t0, cpu_seconds() - c0
        on_event("stage_done", {"name": name, "seconds": seconds[name], "cpu_seconds": cpu[name]})
        return out

    options = featurize_options or FeaturizeOptions(poster_model=RUN_POSTER_MODEL)
    summary = stage("featurize", lambda: featurize(catalog, store, options,
                                                   **({"progress": progress} if progress else {})))
    on_event("featurized", summary)

    def fitted():  # each fit's summary is shown as soon as it is done; returns the defaults' names
        result = fit(store, models, DEFAULT_CONFIGS, FitOptions(), progress=progress, best_poster=True)
        on_event("fit", result)
        if compare_heads:  # the other heads are compared on their pooled models only
            on_event("fit", fit(store, models, COMPARISON_CONFIGS, COMPARISON_OPTIONS, progress=progress,
                                best_poster=True))
        return {c.name for c in result.configs}

    defaults = stage("fit", fitted)

    def scored():
        result = evaluate(store, models, progress=progress, refit_comparisons=defaults,
                          on_config=lambda r, era: on_event("config", {"result": r, "cross_era": era}))
        return result, build(result, report)

    result, path = stage("evaluate", scored)
    return JobResult(store, models, path, summary, result, seconds, cpu)
