"""Checks of a whole store version: what `onesheet store verify` reports and writers refuse.

The cheap structural pass (``deep=False``, run by every writer when it opens a store)
reads only metadata: every piece the master names is open and has its recorded size, the
movie table's columns and labels line up, every feature's provenance is JSON, and every
segment's ids, matrix or CSR arrays have the shapes the master records. The deep pass
adds the sha256 of every piece, a NaN/inf scan, CSR consistency, duplicate live ids and
ids missing from the movie table, in bounded blocks (flat memory).
"""

import hashlib
import os

import numpy as np

from . import schema
from .errors import StoreError
from .idhash import hash_ids

BLOCK_ROWS = 8192


def _problem(exc) -> str:
    return getattr(exc, "problem", str(exc))


def _sha256_fd(fd) -> str:
    h, offset = hashlib.sha256(), 0
    while True:
        block = os.pread(fd, 1 << 20, offset)
        if not block:
            return h.hexdigest()
        h.update(block)
        offset += len(block)


def verify_store(store, deep=True) -> list:
    """Every inconsistency found, as human-readable lines; [] means sound."""
    m = store._manifest
    problems = []
    if m.schema_version >= 2:
        for name in sorted(m.piece_files()):
            problems += _check_piece(store, name, deep)
    problems += _check_table(store, deep)
    for name in store.features():
        try:
            problems += _check_feature(store, name, deep)
        except StoreError as exc:
            problems.append(_problem(exc))
    return problems


def _recorded(m, name):
    if m.table.file == name:
        return m.table
    for f in m.features.values():
        for ref in [s.piece for s in f.segments] + ([f.artifacts] if f.artifacts else []):
            if ref.file == name:
                return ref
    return None


def _check_piece(store, name, deep):
    ref, piece = _recorded(store._manifest, name), store._pool[name]
    if piece.size != ref.size:
        return [f"piece {name} has {piece.size} bytes, the master records {ref.size} (truncated or overwritten)"]
    if deep and _sha256_fd(piece.fd) != ref.sha256:
        return [f"piece {name} does not match its recorded sha256 (changed after it was written)"]
    return []


def _check_table(store, deep):
    table = store._tbl()
    try:
        for column in schema.MOVIE_COLUMNS:
            table.column(column)
        table.labels_dataset()
    except StoreError as exc:
        return [_problem(exc)]
    out = []
    if deep:
        labels = table.labels()
        if len(labels) and labels.max(initial=0) > 1:
            out.append("labels hold values other than 0 and 1")
        h = table.hashes()
        column = table.column("id")
        if _duplicates(h.sorted_all(), lambda pos: column.asstr()[int(h.order[pos])]):
            out.append("movies/id holds duplicate ids")
    return out


def _duplicates(sorted_hashes, id_at) -> bool:
    """Whether two equal hashes (neighbours once sorted) belong to equal ids; ``id_at(position)``."""
    same = np.flatnonzero(sorted_hashes[1:] == sorted_hashes[:-1]) if len(sorted_hashes) > 1 else []
    return any(id_at(i) == id_at(i + 1) for i in same)


def _check_feature(store, name, deep):
    view = store._view(name)            # opening checks each segment's shapes
    feat = view.feature
    out = []
    prov = view.provenance()
    missing = [k for k in schema.REQUIRED_PROVENANCE if k not in prov]
    if missing:
        out.append(f"{name}: provenance lacks {', '.join(missing)}")
    for seg in feat.segments:
        d = seg.deleted
        if len(d) and (d[0] < 0 or d[-1] >= seg.rows or np.any(np.diff(d) <= 0)):
            out.append(f"{name}: superseded rows of {seg.piece.file or 'its matrix'} are out of range or unsorted")
    if not deep:
        return out
    live_hashes, where = [], []
    for k, seg in enumerate(view.segments):
        group = store._piece(seg.segment.piece).h5()[seg.segment.piece.group]
        live = seg.live_rows if seg.live_rows is not None else np.arange(seg.segment.rows)
        for start in range(0, len(live), BLOCK_ROWS):
            rows = live[start:start + BLOCK_ROWS]
            lo, hi = int(rows[0]), int(rows[-1]) + 1
            ids = group["ids"].asstr()[lo:hi]
            ids = [ids[r - lo] for r in rows]
            hashes = hash_ids(ids)
            if "id_hash" in group and not np.array_equal(group["id_hash"][lo:hi][rows - lo], hashes):
                out.append(f"{name}: id hashes of {seg.segment.piece.file} do not match its ids")
            live_hashes.append(hashes)
            where.append(np.stack([np.full(len(rows), k), rows]))
            stray = [m for m, r in zip(ids, store._tbl().find(ids, hashes)) if r < 0]
            if stray:
                out.append(f"{name}: {len(stray)} ids not in the movie table, e.g. {stray[:3]}")
            if feat.kind == schema.DENSE:
                if not np.isfinite(seg.take_dense(rows)).all():
                    out.append(f"{name}: NaN or infinite values in {seg.segment.piece.file or 'its matrix'} "
                               f"rows {lo}..{hi - 1}")
        if feat.kind == schema.SPARSE:
            out += _check_csr(name, group, seg.segment.rows, feat.dim)
    if live_hashes:
        hashes, where = np.concatenate(live_hashes), np.concatenate(where, axis=1)
        order = np.argsort(hashes, kind="stable")

        def id_at(pos):
            k, row = where[:, order[pos]]
            seg = view.segments[int(k)]
            return store._piece(seg.segment.piece).h5()[seg.segment.piece.group]["ids"].asstr()[int(row)]
        if _duplicates(hashes[order], id_at):
            out.append(f"{name}: duplicate live ids")
    return out


def _check_csr(name, group, rows, dim):
    indptr, indices, data = group["indptr"][()], group["indices"][()], group["data"][()]
    out = []
    if len(indptr) != rows + 1 or indptr[0] != 0 or np.any(np.diff(indptr) < 0) or indptr[-1] != len(indices):
        out.append(f"{name}: CSR indptr is inconsistent")
    if len(indices) and (indices.min() < 0 or indices.max() >= dim):
        out.append(f"{name}: CSR column indices out of range")
    if len(data) != len(indices):
        out.append(f"{name}: CSR data and indices differ in length")
    elif not np.isfinite(data).all():
        out.append(f"{name}: NaN or infinite values in CSR data")
    return out
