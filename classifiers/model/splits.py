"""Deterministic, decade-stratified splits keyed by movie id (stable when a catalog grows)."""

import hashlib

import numpy as np


def _rank(movie_id, salt):
    return hashlib.sha1(f"{salt}:{movie_id}".encode()).hexdigest()


def stratified_split(ids, groups, fraction, salt):
    """(kept, taken): within each group, the ``fraction`` of ids with the smallest hash are taken."""
    by_group = {}
    for m, g in zip(ids, groups):
        by_group.setdefault(g, []).append(m)
    taken = set()
    for members in by_group.values():
        k = int(round(fraction * len(members)))
        taken.update(sorted(members, key=lambda m: _rank(m, salt))[:k])
    kept = [m for m in ids if m not in taken]
    return kept, [m for m in ids if m in taken]


def holdout(ids, decades, test_size=0.2, seed=0):
    """(train_pool, test): the test split is never used for fitting or tuning."""
    return stratified_split(ids, decades, test_size, f"test-{seed}")


def validation(ids, decades, val_size=0.2, seed=0):
    """(train, val) inside the train pool: val tunes thresholds and picks decade vs pooled."""
    return stratified_split(ids, decades, val_size, f"val-{seed}")


def decade_array(store, ids):
    movies = store.movies()
    index = {m: i for i, m in enumerate(movies["id"])}
    return np.array([movies["decade"][index[m]] for m in ids], dtype=int)
