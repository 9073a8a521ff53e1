"""Reading one version of a store: pieces held open by file descriptor, and views over them.

A snapshot opens the master and every piece it names as soon as it is loaded, so a writer
that later replaces the master or deletes a piece (compaction, garbage collection) cannot
change or take away what this reader sees: on POSIX an open file survives its unlink, and
dense matrices are memory-mapped from the open file's descriptor, never by path. A reader that loses the race (a piece deleted between reading the master
and opening the piece) simply reads the newer master and tries again.
"""

import json
import mmap
import os
import threading

import h5py
import numpy as np
import scipy.sparse as sp

from . import schema
from .errors import CorruptStoreError, NotAStoreError, UnknownIdsError
from .idhash import SortedHashes, hash_ids
from .manifest import read_manifest

RETRIES = 20


def _strings(ds) -> list:
    return list(ds.asstr()[()]) if ds.shape[0] else []


class OpenPiece:
    """One file held open from the moment its master is read: deleting its name cannot take it away.

    HDF5 keeps its own descriptor of the file for as long as the handle is open, and the
    dense matrices are memory-mapped from that descriptor, never by path.
    """

    def __init__(self, path: str, damaged_as=None):
        self.path = path
        try:
            self._h5 = h5py.File(path, "r")
        except OSError as exc:
            if isinstance(exc, FileNotFoundError) or not os.path.exists(path):
                raise FileNotFoundError(path) from None   # collected by a writer meanwhile: the caller retries
            raise (damaged_as or damaged)(path, f"not a readable HDF5 file ({exc})") from None
        self.fd = self._h5.id.get_vfd_handle()
        stat = os.fstat(self.fd)
        self.size, self.inode = stat.st_size, (stat.st_ino, stat.st_dev)
        self.cache = {}             # derived from the piece's immutable content, so kept across versions
        self._map = None

    def h5(self):
        return self._h5

    def array(self, ds):
        """A read-only ndarray over a contiguous, uncompressed dataset, mapped from the open file."""
        offset = ds.id.get_offset()
        if ds.chunks is not None or ds.compression is not None or offset is None:
            return None
        count = int(np.prod(ds.shape))
        if offset + count * ds.dtype.itemsize > self.size:
            return None
        if self._map is None:
            self._map = mmap.mmap(self.fd, 0, access=mmap.ACCESS_READ)   # mmap keeps its own duplicate
        return np.frombuffer(self._map, dtype=ds.dtype, count=count, offset=offset).reshape(ds.shape)

    def close(self):
        if self._h5 is not None:
            self._h5.close()
            self._h5 = None
        self._map = None            # numpy views keep the mapping alive until they are dropped
        self.cache = {}


class WrittenMaster:
    """The master a writer just committed: known by its inode, opened only if read.

    The writer holds the lock, so no other version can take its place meanwhile; not
    opening it with HDF5 saves a few milliseconds per commit.
    """

    def __init__(self, path: str):
        self.path, self._piece = path, None
        stat = os.stat(path)
        self.size, self.inode = stat.st_size, (stat.st_ino, stat.st_dev)

    def h5(self):
        if self._piece is None:
            self._piece = OpenPiece(self.path)
        return self._piece.h5()

    def close(self):
        if self._piece is not None:
            self._piece.close()
            self._piece = None


def _not_a_store(path, problem):
    return NotAStoreError(f"{path} is not a readable HDF5 feature store ({problem})")


def open_master(path):
    """(OpenPiece of the master, Manifest) of the version at ``path`` right now."""
    if os.path.isdir(path):
        raise NotAStoreError(f"{path} is a folder, not a onesheet store")
    try:
        master = OpenPiece(path, damaged_as=_not_a_store)
    except FileNotFoundError:
        raise NotAStoreError(f"{path} does not exist; create it with `onesheet ingest CATALOG.csv --store {path}`") from None
    try:
        manifest = read_manifest(master.h5(), path)
    except BaseException:
        master.close()
        raise
    return master, manifest


def load_snapshot(path, folder, pool):
    """Open the current master and every piece it names (reusing ``pool``'s open pieces).

    Returns (master, manifest, newly opened pieces). A piece missing because a writer
    collected it after we read the master means a newer master exists: read that one.
    """
    for _ in range(RETRIES):
        master, manifest = open_master(path)
        opened, name = {}, None
        try:
            for name in sorted(manifest.piece_files() - set(pool)):
                opened[name] = OpenPiece(os.path.join(folder, name))
        except FileNotFoundError:
            for piece in opened.values():
                piece.close()
            same = _same_file(master, path)
            master.close()
            if same:
                raise CorruptStoreError(f"{path} is damaged: missing piece {name}; restore a backup or move the "
                                        f"store aside and rebuild it with `onesheet featurize`",
                                        f"missing piece {name}") from None
            continue
        return master, manifest, opened
    raise CorruptStoreError(f"{path} changed {RETRIES} times while being opened; try again")


def _same_file(piece, path) -> bool:
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    return (now.st_ino, now.st_dev) == piece.inode


def damaged(where, problem):
    return CorruptStoreError(f"{where} is damaged: {problem}; run `onesheet store verify` on the store, then "
                             f"restore a backup or rebuild it with `onesheet featurize`", f"{where}: {problem}")


class TableView:
    """The movie table and labels of one version."""

    def __init__(self, piece: OpenPiece, ref, rows: int):
        self.piece, self.ref, self.rows = piece, ref, rows

    def _group(self, name):
        path = self.ref.group.rstrip("/") + "/" + name
        f = self.piece.h5()
        if path not in f:
            raise damaged(self.piece.path, f"its movie table lacks {name}")
        return f[path]

    def _cached(self, key, build):
        key = ("table", key)
        if key not in self.piece.cache:
            self.piece.cache[key] = build()
        return self.piece.cache[key]

    def column(self, name):
        ds = self._group(f"{schema.MOVIES}/{name}")
        if ds.shape[0] != self.rows:
            raise damaged(self.piece.path, f"movies/{name} has {ds.shape[0]} rows, the table {self.rows}")
        return ds

    def ids(self) -> list:
        return self._cached("ids", lambda: _strings(self.column("id")))

    def index(self) -> dict:
        return self._cached("index", lambda: {m: i for i, m in enumerate(self.ids())})

    def columns(self) -> dict:
        def build():
            out = {c: (self.ids() if c == "id" else _strings(self.column(c))) for c in schema.TEXT_COLUMNS}
            for c in schema.INT_COLUMNS:
                out[c] = self.column(c)[()].astype(int)
            return out
        return self._cached("columns", build)

    def genres(self) -> list:
        return [str(g) for g in self._group(schema.LABELS).attrs.get("genres", [])]

    def labels_dataset(self):
        """The labels dataset, its shape checked against the table (nothing read)."""
        ds = self._group(schema.LABELS)
        if ds.ndim != 2 or ds.shape != (self.rows, len(self.genres())):
            raise damaged(self.piece.path, f"labels/multi_hot has shape {ds.shape}, expected "
                                           f"({self.rows}, {len(self.genres())})")
        return ds

    def labels(self) -> np.ndarray:
        return self._cached("labels", lambda: self.labels_dataset()[()])

    def reports(self) -> list:
        path = self.ref.group.rstrip("/") + "/" + schema.INGEST_REPORTS
        f = self.piece.h5()
        return _strings(f[path]) if path in f else []

    def hashes(self) -> SortedHashes:
        def build():
            return _sorted_hashes(self.piece, self._group(schema.MOVIES), self.ids)
        return self._cached("hashes", build)

    def find(self, ids, hashes=None) -> np.ndarray:
        """Row of each id in the table (-1 when absent) without building a dict of all ids."""
        return confirm(self.hashes(), lambda: self.column("id"), ids, hash_ids(ids) if hashes is None else hashes)


def _sorted_hashes(piece, group, all_ids) -> SortedHashes:
    """The piece's sorted id hashes, read block by block from the open file (see SortedHashes)."""
    if "id_hash_fences" in group:
        ds = group["id_hash_sorted"]
        offset, fd = ds.id.get_offset(), piece.fd

        def read(start, stop):
            raw = os.pread(fd, (stop - start) * 8, offset + start * 8) if stop > start else b""
            return np.frombuffer(raw, dtype=np.uint64)     # stored little-endian, like the machines we run on
        order = group["id_hash_order"]
        mapped = piece.array(order)
        return SortedHashes(read, ds.shape[0], group["id_hash_fences"][()], order[()] if mapped is None else mapped)
    return SortedHashes.of(hash_ids(all_ids()))         # a v1 store: computed once


def confirm(sorted_hashes, id_dataset, ids, hashes) -> np.ndarray:
    """Rows whose id string equals each asked id (-1 when none): hash hits checked against strings.

    ``id_dataset()`` gives the piece's id strings; it is only opened when a hash matched.
    """
    qpos, rows = sorted_hashes.candidates(hashes)
    out = np.full(len(ids), -1, np.int64)
    if len(rows):
        id_dataset = id_dataset()
        unique = np.unique(rows)
        lo, hi = int(unique[0]), int(unique[-1]) + 1
        if hi - lo <= 4 * len(unique):    # a batch of neighbouring rows (the usual append): one slice
            names = dict(zip(range(lo, hi), id_dataset.asstr()[lo:hi]))
        else:
            names = dict(zip(unique.tolist(), id_dataset.asstr()[unique]))
        for q, r in zip(qpos.tolist(), rows.tolist()):
            if names[r] == ids[q]:
                out[q] = r
    return out


class SegmentView:
    """One segment of a feature: its ids, live rows and matrix (memory-mapped when dense)."""

    def __init__(self, piece: OpenPiece, segment, kind, dim):
        self.piece, self.segment, self.kind, self.dim = piece, segment, kind, dim
        self.live_rows = segment.live_rows()
        self._cached(("checked", segment.rows, dim), self._check)

    def _ds(self, name):
        return self.piece.h5()[self.segment.piece.group.rstrip("/") + "/" + name]

    def _check(self):
        f, rows = self.piece.h5(), self.segment.rows
        where = self.piece.path if self.segment.piece.file else f"{self.piece.path}:{self.segment.piece.group}"
        names = ("ids", "matrix") if self.kind == schema.DENSE else ("ids", "data", "indices", "indptr")
        missing = [n for n in names if self.segment.piece.group.rstrip("/") + "/" + n not in f]
        if missing:
            raise damaged(where, f"it lacks {', '.join(missing)}")
        if self._ds("ids").shape != (rows,):
            raise damaged(where, f"ids has {self._ds('ids').shape[0]} rows, the manifest says {rows}")
        if self.kind == schema.DENSE:
            if self._ds("matrix").shape != (rows, self.dim):
                raise damaged(where, f"matrix has shape {self._ds('matrix').shape}, expected ({rows}, {self.dim}) "
                                     f"to match its ids")
        else:
            indptr, n = self._ds("indptr"), self._ds("indices").shape[0]
            if indptr.shape != (rows + 1,):
                raise damaged(where, f"CSR indptr has {indptr.shape[0]} entries, expected {rows + 1}")
            if self._ds("data").shape[0] != n or int(indptr[-1]) != n or int(indptr[0]) != 0:
                raise damaged(where, "CSR indptr, indices and data do not line up")

    def _cached(self, key, build):
        key = (self.segment.piece.group, key)
        cache = self.piece.cache
        if key not in cache:
            cache[key] = build()
        return cache[key]

    def all_ids(self) -> list:
        return self._cached("ids", lambda: _strings(self._ds("ids")))

    def live_ids(self) -> list:
        ids = self.all_ids()
        return ids if self.live_rows is None else [ids[i] for i in self.live_rows]

    def hashes(self) -> SortedHashes:
        def build():
            return _sorted_hashes(self.piece, self.piece.h5()[self.segment.piece.group], self.all_ids)
        return self._cached("hashes", build)

    def written_versions(self) -> np.ndarray:
        g = self.piece.h5()[self.segment.piece.group]
        return g["written_version"][()] if "written_version" in g else np.zeros(self.segment.rows, np.uint32)

    def rows_of(self, local_live):
        return local_live if self.live_rows is None else self.live_rows[local_live]

    def dense(self):
        def build():
            ds = self._ds("matrix")
            mapped = self.piece.array(ds)
            return mapped if mapped is not None else ds
        return self._cached("dense", build)

    def take_dense(self, rows) -> np.ndarray:
        m = self.dense()
        if len(rows) > 1 and rows[-1] - rows[0] == len(rows) - 1 and np.all(np.diff(rows) == 1):
            return np.array(m[int(rows[0]):int(rows[-1]) + 1])   # a run: one copy, no fancy indexing
        if isinstance(m, np.ndarray):
            return m[rows]
        order = np.unique(rows)  # h5py wants sorted unique indices
        block = m[order] if len(order) else np.empty((0, self.dim), np.float32)
        return block[np.searchsorted(order, rows)]

    def take_sparse(self, rows) -> sp.csr_matrix:
        indptr = self._cached("indptr", lambda: self._ds("indptr")[()])
        key = (self.segment.piece.group, "arrays")
        if key not in self.piece.cache and len(rows) * 20 > self.segment.rows:
            self.piece.cache[key] = (self._ds("indices")[()], self._ds("data")[()])
        starts, stops = indptr[rows], indptr[rows + 1]
        lengths = stops - starts
        new_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if key in self.piece.cache:
            indices, data = self.piece.cache[key]
            take = np.repeat(starts - new_indptr[:-1], lengths) + np.arange(new_indptr[-1])
            new_indices, new_data = indices[take], data[take]
        else:
            ind, dat = self._ds("indices"), self._ds("data")
            new_indices = np.concatenate([ind[a:b] for a, b in zip(starts, stops)] + [np.empty(0, np.int32)])
            new_data = np.concatenate([dat[a:b] for a, b in zip(starts, stops)] + [np.empty(0, np.float32)])
        return sp.csr_matrix((new_data, new_indices, new_indptr), shape=(len(rows), self.dim))


_SCRATCH = threading.local()
SCRATCH_MAX_BYTES = 16 << 20


def _scratch(rows, dim) -> np.ndarray:
    """A (rows, dim) float32 buffer this thread reuses for per-segment gathers.

    A fresh temporary per segment and lookup makes glibc hand its pages back and fault
    them in again on the next lookup: measured 0.5 ms of a 0.55 ms lookup of 100 ids over
    two segments, 0.05 ms without. Kept up to SCRATCH_MAX_BYTES per thread.
    """
    need = rows * dim
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or buf.size < need:
        if need * 4 > SCRATCH_MAX_BYTES:
            return np.empty((rows, dim), np.float32)
        buf = _SCRATCH.buf = np.empty(need, np.float32)
    return buf[:need].reshape(rows, dim)


class FeatureView:
    """One feature of one version: live rows of all its segments, in segment order."""

    def __init__(self, feature, pieces):
        self.feature = feature
        self.segments = [SegmentView(p, s, feature.kind, feature.dim) for p, s in zip(pieces, feature.segments)]
        self.starts = np.concatenate([[0], np.cumsum([s.segment.live for s in self.segments])]).astype(np.int64)
        self._ids = self._index = None

    @property
    def rows(self) -> int:
        return int(self.starts[-1])

    def provenance(self) -> dict:
        try:
            prov = json.loads(self.feature.provenance_json)
        except ValueError:
            prov = None
        if not isinstance(prov, dict):
            raise damaged(f"feature {self.feature.name!r}", "its provenance is not a JSON object")
        return prov

    def ids(self) -> list:
        if self._ids is None:
            self._ids = [m for s in self.segments for m in s.live_ids()]
        return self._ids

    def index(self) -> dict:
        if self._index is None:  # built once per version; lookups of one id stay well under a millisecond
            self._index = {m: i for i, m in enumerate(self.ids())}
        return self._index

    def positions(self, ids) -> np.ndarray:
        """Row of each id in this view; ids that are not strings are looked up as ``str(id)``."""
        index = self.index()
        try:    # the usual case, all strings: no per-id Python frame
            return np.fromiter(map(index.__getitem__, ids), dtype=np.int64, count=len(ids))
        except (KeyError, TypeError):
            ids = [str(i) for i in ids]
        try:
            return np.fromiter(map(index.__getitem__, ids), dtype=np.int64, count=len(ids))
        except KeyError:
            raise unknown_ids(ids, index, f"feature {self.feature.name!r}") from None

    def gather(self, positions):
        positions = np.asarray(positions, dtype=np.int64)
        dense = self.feature.kind == schema.DENSE
        if len(self.segments) == 1:
            seg = self.segments[0]
            rows = seg.rows_of(positions)
            return seg.take_dense(rows) if dense else seg.take_sparse(rows)
        if not len(positions):
            return (np.empty((0, self.feature.dim), np.float32) if dense
                    else sp.csr_matrix((0, self.feature.dim), dtype=np.float32))
        which = np.searchsorted(self.starts, positions, side="right") - 1
        local = positions - self.starts[which]
        if len(positions) == 1:                     # one id: one segment, nothing to sort
            seg = self.segments[int(which[0])]
            rows = seg.rows_of(local)
            return seg.take_dense(rows) if dense else seg.take_sparse(rows)
        order = np.argsort(which, kind="stable")
        bounds = np.searchsorted(which[order], np.arange(len(self.segments) + 1))
        counts = np.diff(bounds)
        touched = np.flatnonzero(counts)
        if len(touched) == 1:                       # no scatter needed
            seg = self.segments[int(touched[0])]
            rows = seg.rows_of(local)
            return seg.take_dense(rows) if dense else seg.take_sparse(rows)
        if not dense:
            parts = [self.segments[k].take_sparse(self.segments[k].rows_of(local[order[bounds[k]:bounds[k + 1]]]))
                     for k in touched.tolist()]
            return sp.vstack(parts, format="csr")[np.argsort(order, kind="stable")]
        out = np.empty((len(positions), self.feature.dim), np.float32)
        scratch = _scratch(int(counts.max()), self.feature.dim)
        for k in touched.tolist():                  # per segment: one gather, one scatter
            sel = order[bounds[k]:bounds[k + 1]]
            seg = self.segments[k]
            rows = seg.rows_of(local[sel])
            matrix = seg.dense()
            if isinstance(matrix, np.ndarray):
                part = scratch[:len(sel)]
                np.take(matrix, rows, axis=0, out=part, mode="clip")   # rows are in range; "clip" avoids a buffer
                out[sel] = part
            else:
                out[sel] = seg.take_dense(rows)
        return out

    def find(self, ids, hashes):
        """For each asked id, (segment number, local row) of its live row, or (-1, -1)."""
        seg_of = np.full(len(ids), -1, np.int64)
        row_of = np.full(len(ids), -1, np.int64)
        for k, seg in enumerate(self.segments):
            rows = confirm(seg.hashes(), lambda: seg._ds("ids"), ids, hashes)
            hit = rows >= 0
            if len(seg.segment.deleted):
                hit &= ~np.isin(rows, seg.segment.deleted)
            seg_of[hit], row_of[hit] = k, rows[hit]
        return seg_of, row_of


def unknown_ids(ids, index, what):
    missing = [i for i in dict.fromkeys(ids) if i not in index]
    shown = ", ".join(missing[:10]) + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else "")
    return UnknownIdsError(f"{len(missing)} id(s) not in {what}: {shown}", missing)
