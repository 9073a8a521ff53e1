"""Writing the store's immutable pieces: segments, movie tables and encoder artifacts.

Every piece gets a fresh unique name, is written once, fsynced, hashed, and never changed.
A ``PieceWriter`` remembers what it wrote, so a commit that fails (disk full, an error, a
rollback) deletes its own pieces; a writer killed outright leaves pieces no master names,
which the next writer deletes (``store.gc``).
"""

import hashlib
import os
import secrets
import time

import h5py
import numpy as np
import scipy.sparse as sp

from . import atomic, schema
from .hashing import sha256_file
from .idhash import BLOCK, hash_ids, hash_order
from .manifest import STR, PieceRef, now
from .version import PACKAGE_VERSION


def _hash_index(group, hashes, write_hashes=True):
    """id_hash (row order), id_hash_sorted, id_hash_order and id_hash_fences: what writers search."""
    if write_hashes:
        group.create_dataset("id_hash", data=hashes)
    order = hash_order(hashes)
    ordered = np.asarray(hashes, np.uint64)[order]
    group.create_dataset("id_hash_sorted", data=ordered)
    group.create_dataset("id_hash_order", data=order)
    group.create_dataset("id_hash_fences", data=ordered[::BLOCK])


def _strings(values):
    return np.array([str(v) for v in values], dtype=STR)


class PieceWriter:
    """Creates pieces in one store's pieces folder and can take back everything it created."""

    def __init__(self, folder: str):
        self.folder = folder
        self.written = []
        self.syncing = []          # fsyncs of written pieces still running (joined by sync)

    def new_path(self, prefix: str) -> tuple:
        name = f"{prefix}{time.time_ns():x}-{secrets.token_hex(4)}.h5"
        path = os.path.join(self.folder, name)
        self.written.append(path)
        return name, path

    def finish(self, name: str, path: str) -> PieceRef:
        self.syncing.append(atomic.Background(atomic.fsync_path, path))
        return PieceRef(name, os.path.getsize(path), sha256_file(path))

    def finish_image(self, name: str, path: str, image) -> PieceRef:
        """Write a piece built in memory in one go: no small writes, no reading it back to hash it."""
        with open(path, "wb") as f:
            f.write(image)
        self.syncing.append(atomic.Background(atomic.fsync_path, path))
        return PieceRef(name, len(image), hashlib.sha256(image).hexdigest())

    def _join(self, check=True) -> None:
        syncing, self.syncing = self.syncing, []
        for s in syncing:
            s.join(check=False)
        failures = [s.failure for s in syncing if s.failure is not None]
        if check and failures:
            raise failures[0]

    def sync(self) -> None:
        """Make the new pieces and their folder entries durable (before a master may name them)."""
        self._join()
        if self.written:
            atomic.fsync_path(self.folder)

    def rollback(self) -> None:
        self._join(check=False)
        for path in self.written:
            atomic.remove_quietly(path)
        self.written = []

    def forget(self) -> None:
        """The pieces are committed: they are the store's now, not this writer's to remove."""
        self.syncing, self.written = [], []

    # -- the three kinds of piece ------------------------------------------------
    def segment(self, feature, kind, ids, matrix, version, hashes=None) -> PieceRef:
        """One segment holding ``matrix`` (dense ndarray or CSR) for ``ids``, written by ``version``."""
        ids = list(ids)
        nnz = matrix.nnz if kind == schema.SPARSE else None
        with SegmentBuilder(self, feature, kind, len(ids), matrix.shape[1], nnz) as b:
            b.put(ids, hash_ids(ids) if hashes is None else hashes, np.full(len(ids), version, np.uint32), matrix)
        return b.piece

    def table(self, columns, labels, genres, reports) -> PieceRef:
        name, path = self.new_path("movies-")
        hashes = hash_ids(columns["id"])
        with h5py.File(path, "w") as f:
            f.attrs.update(format=schema.TABLE_FORMAT, created_at=now(), package_version=PACKAGE_VERSION)
            g = f.create_group(schema.MOVIES)
            for c in schema.TEXT_COLUMNS:
                g.create_dataset(c, data=_strings(columns[c]))
            for c in schema.INT_COLUMNS:
                g.create_dataset(c, data=np.asarray(columns[c], dtype=np.int16))
            _hash_index(g, hashes)
            ds = f.create_dataset(schema.LABELS, data=np.asarray(labels, dtype=np.uint8))
            ds.attrs["genres"] = _strings(genres)
            f.create_dataset(schema.INGEST_REPORTS, data=_strings(reports))
        return self.finish(name, path)

    def artifacts(self, artifacts: dict, content_hash: str) -> PieceRef:
        name, path = self.new_path("art-")
        with h5py.File(path, "w") as f:
            f.attrs.update(format=schema.ARTIFACTS_FORMAT, content_hash=content_hash, created_at=now())
            g = f.create_group("artifacts")
            for key, value in artifacts.items():
                value = np.asarray(value)
                if value.dtype == object or value.dtype.kind in "US":
                    value = _strings(value)
                g.create_dataset(key, data=value)
        return self.finish(name, path)


class SegmentBuilder:
    """Fills one segment piece block by block (compaction streams through it with flat memory).

    Segments up to IN_MEMORY_BYTES (every ordinary commit) are built in memory and written
    with one write; bigger ones (large merges) are built on disk.
    """

    IN_MEMORY_BYTES = 64 << 20

    def __init__(self, writer: PieceWriter, feature, kind, rows, dim, nnz=None):
        self.writer, self.kind, self.rows, self.dim = writer, kind, rows, dim
        self.name, self.path = writer.new_path("seg-")
        size = rows * dim * 4 if kind == schema.DENSE else (nnz or 0) * 8 + rows * 8
        self.in_memory = size + rows * 64 <= self.IN_MEMORY_BYTES
        self.f = (h5py.File(self.name, "w", driver="core", backing_store=False, block_size=size + rows * 64 + (1 << 20))
                  if self.in_memory else h5py.File(self.path, "w"))
        self.f.attrs.update(format=schema.SEGMENT_FORMAT, feature=feature, kind=kind, rows=rows, dim=dim,
                            created_at=now(), package_version=PACKAGE_VERSION)
        self.f.create_dataset("ids", shape=(rows,), dtype=STR)
        self.f.create_dataset("id_hash", shape=(rows,), dtype=np.uint64)
        self.f.create_dataset("written_version", shape=(rows,), dtype=np.uint32)
        if kind == schema.DENSE:
            self.f.create_dataset("matrix", shape=(rows, dim), dtype=np.float32)  # contiguous: memory-mappable
        else:
            self.f.create_dataset("data", shape=(nnz,), dtype=np.float32)
            self.f.create_dataset("indices", shape=(nnz,), dtype=np.int32)
            self.f.create_dataset("indptr", shape=(rows + 1,), dtype=np.int64)
            self.f["indptr"][0] = 0
            self.f.attrs["shape"] = np.array([rows, dim], dtype=np.int64)
        self.at = self.nnz_at = 0
        self.piece = None

    def __enter__(self):
        return self

    def put(self, ids, hashes, versions, block):
        a, b = self.at, self.at + len(ids)
        self.f["ids"][a:b] = _strings(ids)
        self.f["id_hash"][a:b] = hashes
        self.f["written_version"][a:b] = versions
        if self.kind == schema.DENSE:
            self.f["matrix"][a:b] = np.asarray(block, dtype=np.float32)
        else:
            block = sp.csr_matrix(block, dtype=np.float32)
            block.sort_indices()
            n = block.nnz
            self.f["data"][self.nnz_at:self.nnz_at + n] = block.data
            self.f["indices"][self.nnz_at:self.nnz_at + n] = block.indices
            self.f["indptr"][a + 1:b + 1] = block.indptr[1:].astype(np.int64) + self.nnz_at
            self.nnz_at += n
        self.at = b

    def __exit__(self, exc_type, *exc):
        image = None
        try:
            if exc_type is None:
                if self.at != self.rows:
                    raise AssertionError(f"segment builder got {self.at} of {self.rows} rows")
                _hash_index(self.f, self.f["id_hash"][()], write_hashes=False)
                if self.in_memory:
                    self.f.flush()
                    image = self.f.id.get_file_image()
        finally:
            self.f.close()
        if exc_type is None:
            self.piece = (self.writer.finish_image(self.name, self.path, image) if self.in_memory
                          else self.writer.finish(self.name, self.path))
