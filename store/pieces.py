"""Writing the store's immutable pieces: segments, movie tables and encoder artifacts.

Every piece gets a fresh unique name, is written once, fsynced, hashed, and never changed.
A ``PieceWriter`` remembers what it wrote, so a commit that fails (disk full, an error, a
rollback) deletes its own pieces; a writer killed outright leaves pieces no master names,
which the next writer deletes (``store.gc``).
"""

import os
import secrets
import time

import h5py
import numpy as np
import scipy.sparse as sp

from . import atomic, schema
from .hashing import sha256_file
from .idhash import hash_order, hash_ids
from .manifest import STR, PieceRef, now
from .version import PACKAGE_VERSION


def _strings(values):
    return np.array([str(v) for v in values], dtype=STR)


class PieceWriter:
    """Creates pieces in one store's pieces folder and can take back everything it created."""

    def __init__(self, folder: str):
        self.folder = folder
        self.written = []

    def new_path(self, prefix: str) -> tuple:
        name = f"{prefix}{time.time_ns():x}-{secrets.token_hex(4)}.h5"
        path = os.path.join(self.folder, name)
        self.written.append(path)
        return name, path

    def finish(self, name: str, path: str) -> PieceRef:
        atomic.fsync_path(path)
        return PieceRef(name, os.path.getsize(path), sha256_file(path))

    def sync(self) -> None:
        """Make the new pieces' folder entries durable (before a master may name them)."""
        if self.written:
            atomic.fsync_path(self.folder)

    def rollback(self) -> None:
        for path in self.written:
            atomic.remove_quietly(path)
        self.written = []

    def forget(self) -> None:
        """The pieces are committed: they are the store's now, not this writer's to remove."""
        self.written = []

    # -- the three kinds of piece ------------------------------------------------
    def segment(self, feature, kind, ids, matrix, version) -> PieceRef:
        """One segment holding ``matrix`` (dense ndarray or CSR) for ``ids``, written by ``version``."""
        ids = list(ids)
        nnz = matrix.nnz if kind == schema.SPARSE else None
        with SegmentBuilder(self, feature, kind, len(ids), matrix.shape[1], nnz) as b:
            b.put(ids, hash_ids(ids), np.full(len(ids), version, np.uint32), matrix)
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
            g.create_dataset("id_hash", data=hashes)
            g.create_dataset("id_hash_order", data=hash_order(hashes))
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
    """Fills one segment piece block by block (compaction streams through it with flat memory)."""

    def __init__(self, writer: PieceWriter, feature, kind, rows, dim, nnz=None):
        self.writer, self.kind, self.rows, self.dim = writer, kind, rows, dim
        self.name, self.path = writer.new_path("seg-")
        self.f = h5py.File(self.path, "w")
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
        try:
            if exc_type is None:
                if self.at != self.rows:
                    raise AssertionError(f"segment builder got {self.at} of {self.rows} rows")
                self.f.create_dataset("id_hash_order", data=hash_order(self.f["id_hash"][()]))
        finally:
            self.f.close()
        if exc_type is None:
            self.piece = self.writer.finish(self.name, self.path)
