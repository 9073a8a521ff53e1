"""The main job end to end: featurize -> fit -> evaluate, one call."""

import os
import time
from dataclasses import dataclass

from featurize import FeaturizeOptions, featurize

from ..model.decades import COMPARISON_CONFIGS, DEFAULT_CONFIGS, FitOptions, fit
from .evaluate import evaluate
from ..reports.evaluation import build


@dataclass
class JobResult:
    store: str
    models: str
    report: str
    featurize_summary: object
    metrics: dict
    seconds: dict


def run_job(catalog, out_dir, featurize_options=None, progress=None, compare_heads=True):
    """Featurize ``catalog`` into OUT/store.h5, fit into OUT/models, report into OUT/report."""
    os.makedirs(out_dir, exist_ok=True)
    store, models, report = (os.path.join(out_dir, p) for p in ("store.h5", "models", "report"))
    seconds = {}
    t0 = time.perf_counter()
    # the whole-poster embedding: the defaults' poster feature (see decades.FULL_POSTER)
    options = featurize_options or FeaturizeOptions(poster_model="efficientnet-lite0-full")
    summary = featurize(catalog, store, options, **({"progress": progress} if progress else {}))
    seconds["featurize"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    configs = list(DEFAULT_CONFIGS) + (list(COMPARISON_CONFIGS) if compare_heads else [])
    fit(store, models, configs, FitOptions(), progress=progress, best_poster=True)
    seconds["fit"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = evaluate(store, models, progress=progress)
    path = build(result, report)
    seconds["evaluate"] = time.perf_counter() - t0
    return JobResult(store, models, path, summary, result, seconds)
