"""Structural checks of a store: what `onesheet store verify` reports."""

import numpy as np

from . import schema


def verify_store(store) -> list:
    """Every inconsistency found, as human-readable lines; [] means sound."""
    problems = []
    movies = store.movies()
    ids = movies["id"]
    n = len(ids)
    if len(set(ids)) != n:
        problems.append("movies/id holds duplicate ids")
    for column in schema.MOVIE_COLUMNS:
        if len(movies[column]) != n:
            problems.append(f"movies/{column} has {len(movies[column])} rows, movies/id has {n}")
    labels = store._f[schema.LABELS]
    if labels.shape != (n, len(store.genres())):
        problems.append(f"labels shape {labels.shape} != ({n}, {len(store.genres())} genres)")
    elif n and labels[()].max(initial=0) > 1:
        problems.append("labels hold values other than 0 and 1")
    known = set(ids)
    for name in store.features():
        problems.extend(_verify_feature(store, name, known))
    return problems


def _verify_feature(store, name, known):
    out = []
    info = store.feature_info(name)
    fids = store.feature_ids(name)
    rows, dim = info["shape"]
    if len(fids) != rows:
        out.append(f"{name}: {len(fids)} ids but {rows} rows")
    if len(set(fids)) != len(fids):
        out.append(f"{name}: duplicate ids")
    stray = [m for m in fids if m not in known]
    if stray:
        out.append(f"{name}: {len(stray)} ids not in the movie table, e.g. {stray[:3]}")
    missing = [k for k in schema.REQUIRED_PROVENANCE if k not in info["provenance"]]
    if missing:
        out.append(f"{name}: provenance lacks {', '.join(missing)}")
    g = store._feature_group(name)
    if info["kind"] == schema.DENSE:
        matrix = g["matrix"]
        step = 4096
        for start in range(0, rows, step):
            if not np.isfinite(matrix[start:start + step]).all():
                out.append(f"{name}: NaN or infinite values in rows {start}..{min(rows, start + step) - 1}")
                break
    else:
        indptr, indices = g["indptr"][()], g["indices"][()]
        if len(indptr) != rows + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != len(indices):
            out.append(f"{name}: CSR indptr is inconsistent")
        if len(indices) and (indices.min() < 0 or indices.max() >= dim):
            out.append(f"{name}: CSR column indices out of range")
        if len(g["data"]) != len(indices):
            out.append(f"{name}: CSR data and indices differ in length")
    return out
