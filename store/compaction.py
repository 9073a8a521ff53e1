"""Compaction: merge a feature's segments into bigger ones and drop superseded rows.

Size-tiered, as in LSM trees: segments below ``BASE_ROWS * SMALL_FANOUT`` rows are tier 0
(what 1,024-row commits write), and each FANOUT-fold size above that is one tier more;
when SMALL_FANOUT (tier 0) or FANOUT segments share a tier they are merged into one of the
next, so each row is rewritten O(log n) times over its life. The wider first merge cuts
the rewriting of an append-heavy store by about 40%. The automatic pass runs inside a
commit and only does merges whose input is at most ``AUTO_MAX_BYTES`` (bigger ones are left to
``onesheet store compact``), so one commit's extra work is bounded. A segment whose
superseded rows outnumber its live ones, or that holds more than ``MAX_HOLES`` of them, is
rewritten on its own: that keeps the master's list of superseded rows (and the virtual
datasets' selections) small. Merging streams rows block by block, so memory stays flat,
and it never blocks readers: they keep the old pieces open until they refresh.
"""

import math

import numpy as np

from . import schema
from .idhash import hash_ids
from .manifest import Segment
from .pieces import SegmentBuilder

FANOUT = 8
SMALL_FANOUT = 16        # tier 0 (commit-sized segments): merged 16 at a time, so fresh rows are rewritten less
BASE_ROWS = 1024
AUTO_MAX_BYTES = 2 << 30
MAX_HOLES = 1024
CHUNK_BYTES = 32 << 20


def tier(rows: int) -> int:
    """0 below BASE_ROWS * SMALL_FANOUT rows, then one more per FANOUT times as many."""
    small = BASE_ROWS * SMALL_FANOUT
    return 0 if rows < small else 1 + int(math.log(rows / small, FANOUT) + 1e-9)


def fanout(tier_: int) -> int:
    return SMALL_FANOUT if tier_ == 0 else FANOUT


def _live_bytes(seg) -> float:
    return seg.piece.size * seg.live / max(seg.rows, 1)


def plan(segments) -> list:
    """Indices of the segments the automatic pass should merge next ([] when none)."""
    for k, seg in enumerate(segments):
        if len(seg.deleted) > MAX_HOLES or len(seg.deleted) > seg.live:
            return [k]
    by_tier = {}
    for k, seg in enumerate(segments):
        by_tier.setdefault(tier(seg.live), []).append(k)
    for t in sorted(by_tier):
        group = by_tier[t][:fanout(t)]
        if len(group) == fanout(t) and sum(_live_bytes(segments[k]) for k in group) <= AUTO_MAX_BYTES:
            return group
    return []


def auto_compact(writer, name) -> int:
    """The bounded merges one commit does for ``name``; returns how many."""
    merges = 0
    for _ in range(16):
        group = plan(writer.store._manifest.features[name].segments)
        if not group:
            break
        merge(writer, name, group)
        merges += 1
    return merges


def compact_feature(writer, name, progress=None) -> None:
    """Merge all of ``name``'s segments into one without superseded rows (when there is anything to do)."""
    segments = writer.store._manifest.features[name].segments
    if len(segments) > 1 or any(len(s.deleted) for s in segments):
        merge(writer, name, list(range(len(segments))), progress)


def _blocks(view, chunk_rows):
    """(local rows, ids) blocks of one segment's live rows, read a bounded slice at a time."""
    live = view.live_rows if view.live_rows is not None else np.arange(view.segment.rows)
    ids_ds = view._ds("ids")
    for start in range(0, len(live), chunk_rows):
        rows = live[start:start + chunk_rows]
        lo, hi = int(rows[0]), int(rows[-1]) + 1
        ids = ids_ds.asstr()[lo:hi]
        yield rows, [ids[r - lo] for r in rows], lo, hi


def copy_live_rows(txn, store, feat, sources, version, progress=None):
    """Write one new segment holding the live rows of ``sources`` (segment views), in order.

    Streams a bounded block at a time. Rows keep their id hashes and written versions;
    rows from a v1 store, which has neither, get theirs computed and ``version``.
    """
    total = sum(s.segment.live for s in sources)
    nnz = None
    if feat.kind == schema.SPARSE:
        nnz = 0
        for s in sources:
            indptr = s._ds("indptr")[()]
            rows = s.live_rows if s.live_rows is not None else np.arange(s.segment.rows)
            nnz += int((indptr[rows + 1] - indptr[rows]).sum())
    chunk_rows = max(1, CHUNK_BYTES // max(4 * feat.dim, 1)) if feat.kind == schema.DENSE else 65536
    bar = progress(f"compact {feat.name}", total) if progress else None
    with SegmentBuilder(txn, feat.name, feat.kind, total, feat.dim, nnz) as out:
        for s in sources:
            group = store._piece(s.segment.piece).h5()[s.segment.piece.group]
            for rows, ids, lo, hi in _blocks(s, chunk_rows):
                hashes = group["id_hash"][lo:hi][rows - lo] if "id_hash" in group else hash_ids(ids)
                versions = (group["written_version"][lo:hi][rows - lo] if "written_version" in group
                            else np.full(len(rows), version, np.uint32))
                out.put(ids, hashes, versions, s.take_dense(rows) if feat.kind == schema.DENSE else s.take_sparse(rows))
                if bar is not None:
                    bar.update(len(rows))
    if bar is not None:
        bar.close()
    return out.piece, total


def merge(writer, name, indices, progress=None) -> None:
    """Replace the segments at ``indices`` by one segment holding their live rows, in order."""
    store = writer.store
    feat = store._manifest.features[name]
    view = store._view(name)
    ref, total = copy_live_rows(writer.txn, store, feat, [view.segments[k] for k in indices], writer.next_version,
                                progress)
    merged = Segment(writer.adopt(ref), total, np.empty(0, np.int64))
    drop = set(indices)
    kept = [seg for k, seg in enumerate(feat.segments) if k not in drop]
    kept.insert(min(indices), merged)
    feat.segments = kept
    writer.touch(name)
