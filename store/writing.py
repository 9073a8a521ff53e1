"""The single writer of a store: transactions of new pieces, committed by a new master.

A commit costs what it adds: its new segment (and, for updates, the list of rows it
supersedes), then a master that lists segments rather than rows. Ids are checked against
the movie table and the feature's segments through 64-bit hashes (``store.idhash``), so a
writer never builds a dict of all ids and its memory stays flat as the store grows. Any
failure removes the transaction's pieces and temporary master, leaving the previous
version as it was; running out of disk space surfaces as one ``DiskFullError``.
"""

import contextlib
import hashlib
import json
import os

import numpy as np
import scipy.sparse as sp

from . import atomic, compaction, schema
from .errors import (
    CorruptStoreError, FeatureShapeError, MigrationNeededError, ProvenanceError, StoreError, UnknownIdsError,
)
from .idhash import hash_ids
from .manifest import Feature, Manifest, Segment, now, write_master
from .pieces import PieceWriter
from .reading import OpenPiece
from .version import PACKAGE_VERSION


def collect_garbage(folder, keep, features=()) -> list:
    """Delete the pieces no master names (old versions, pieces of killed writers), and the
    similar-movie indexes of features that no longer exist."""
    removed = []
    indexes = {"ann-" + f.replace("/", "@") + ".h5" for f in features}
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        stale_index = name.startswith("ann-") and name not in indexes
        if (name.startswith(schema.PIECE_PREFIXES) and name not in keep) or stale_index:
            atomic.remove_quietly(os.path.join(folder, name))
            removed.append(name)
    return removed


def artifacts_hash(artifacts: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(artifacts):
        value = np.asarray(artifacts[key])
        h.update(key.encode())
        h.update("\x00".join(map(str, value.ravel())).encode() if value.dtype == object or value.dtype.kind in "US"
                 else value.tobytes() + str(value.dtype).encode())
    return h.hexdigest()


class StoreWriter:
    """Holds the writer lock of one FeatureStore and turns its writes into commits."""

    def __init__(self, store):
        self.store = store
        self.lock = atomic.WriterLock(store.path)
        self.lock.acquire()
        self.txn, self.saved, self.depth, self.changed = None, None, 0, set()
        try:
            atomic.remove_stale_temps(store.path)
            if not os.path.exists(store.path):
                self._create_empty()
            store._load()
            if store.schema_version not in schema.WRITABLE_VERSIONS:
                raise MigrationNeededError(
                    f"{store.path} has store schema v{store.schema_version}, which this onesheet reads but no longer "
                    f"writes; run `onesheet store migrate {store.path}` to convert it (reading needs nothing)")
            self._refuse_damaged()
            collect_garbage(store.folder, store._manifest.piece_files(), store._manifest.features)
        except BaseException:
            self.release()
            raise

    def release(self):
        self.lock.release()

    def _refuse_damaged(self):
        from .verify import verify_store
        problems = verify_store(self.store, deep=False)
        if problems:
            more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
            raise CorruptStoreError(
                f"refusing to write to {self.store.path}: {'; '.join(problems[:3])}{more}; run `onesheet store verify "
                f"{self.store.path}`, then restore a backup or move it aside and rebuild it with `onesheet featurize`")

    def _create_empty(self):
        path = self.store.path
        os.makedirs(self.store.folder, exist_ok=True)
        writer = PieceWriter(self.store.folder)
        tmp = atomic.temp_path(path)
        try:
            table = writer.table({c: [] for c in schema.MOVIE_COLUMNS}, np.zeros((0, 0), np.uint8), [], [])
            writer.sync()
            write_master(tmp, Manifest(2, 1, now(), PACKAGE_VERSION, table, 0, {}), os.path.basename(self.store.folder))
            atomic.commit(tmp, path)
        except BaseException as exc:
            writer.rollback()
            atomic.remove_quietly(tmp)
            if atomic.is_disk_full(exc):
                raise atomic.disk_full_error(os.path.dirname(path), f"creating {path}") from None
            raise

    # -- transactions --------------------------------------------------------------
    @contextlib.contextmanager
    def batch(self):
        if self.depth:
            self.depth += 1
            try:
                yield self.store
            finally:
                self.depth -= 1
            return
        self.depth = 1
        self.saved, self.txn, self.changed = self.store._manifest.copy(), PieceWriter(self.store.folder), set()
        try:
            yield self.store
            if self.txn.written or self.changed:
                self._commit()
        except BaseException as exc:
            self._rollback()
            if atomic.is_disk_full(exc):
                raise atomic.disk_full_error(self.store.folder, f"committing to {self.store.path}") from None
            raise
        finally:
            self.depth, self.txn, self.saved = 0, None, None

    @property
    def next_version(self) -> int:
        return self.saved.version + 1

    def adopt(self, ref):
        """Open a piece this transaction wrote, so reads inside the transaction see it."""
        self.store._pool[ref.file] = OpenPiece(os.path.join(self.store.folder, ref.file))
        return ref

    def _rollback(self):
        store = self.store
        mine = {os.path.basename(p) for p in self.txn.written}
        for name in mine & set(store._pool):
            store._pool.pop(name).close()
        self.txn.rollback()
        store._manifest = self.saved
        store._reset_views()

    def _commit(self):
        store = self.store
        for name in sorted(self.changed):
            if name in store._manifest.features:
                compaction.auto_compact(self, name)
        manifest = store._manifest
        manifest.version = self.next_version
        pieces = atomic.Background(self.txn.sync)   # their fsyncs run while the master is written
        tmp = atomic.temp_path(store.path)
        try:
            write_master(tmp, manifest, os.path.basename(store.folder))
            atomic.commit(tmp, store.path, before_replace=pieces.join)
        except BaseException:
            pieces.join(check=False)
            atomic.remove_quietly(tmp)
            raise
        written = {os.path.basename(p) for p in self.txn.written}
        self.txn.forget()        # committed: these pieces belong to the store now
        store._adopt_master(manifest)
        gone = (self.saved.piece_files() | written) - manifest.piece_files()   # named by no master now
        gone |= {"ann-" + f.replace("/", "@") + ".h5" for f in set(self.saved.features) - set(manifest.features)}
        for name in gone:
            if name in store._pool:
                store._pool.pop(name).close()
            atomic.remove_quietly(os.path.join(store.folder, name))

    def touch(self, name):
        self.changed.add(name)
        self.store._views.pop(name, None)

    # -- operations ------------------------------------------------------------------
    def write_features(self, name, ids, matrix, provenance, artifacts=None):
        store = self.store
        from .h5 import FEATURE_NAME
        if not FEATURE_NAME.match(name):
            raise StoreError(f"feature name {name!r} must look like 'source/name' (letters, digits, - _ .)")
        ids = [str(i) for i in ids]
        if len(set(ids)) != len(ids):
            raise FeatureShapeError(f"write_features({name!r}) got duplicate ids")
        hashes = hash_ids(ids)
        absent = [m for m, r in zip(ids, store._tbl().find(ids, hashes)) if r < 0]
        if absent:
            shown = ", ".join(absent[:10]) + (f" (+{len(absent) - 10} more)" if len(absent) > 10 else "")
            raise UnknownIdsError(f"{len(absent)} id(s) not in the store's movie table (ingest them first): {shown}",
                                  absent)
        sparse = sp.issparse(matrix)
        matrix = sp.csr_matrix(matrix, dtype=np.float32) if sparse else np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise FeatureShapeError(f"{name}: matrix shape {matrix.shape} does not match {len(ids)} ids")
        if not np.isfinite(matrix.data if sparse else matrix).all():
            raise FeatureShapeError(f"{name}: matrix holds NaN or infinite values")
        missing = [k for k in schema.REQUIRED_PROVENANCE if k not in provenance]
        if missing:
            raise ProvenanceError(f"{name}: provenance lacks {', '.join(missing)}")
        prov = dict(provenance, schema_version=schema.SCHEMA_VERSION, package_version=PACKAGE_VERSION)
        kind = schema.SPARSE if sparse else schema.DENSE
        if not len(ids):
            return
        with self.batch():
            manifest = store._manifest
            if name in manifest.features:
                info = store.feature_info(name)
                old_prov = info["provenance"]
                clash = [k for k in schema.IDENTITY_PROVENANCE if old_prov.get(k) != prov.get(k)]
                if clash:
                    raise ProvenanceError(
                        f"{name}: {', '.join(clash)} differ from the stored feature ({old_prov.get('sha256', '')[:12]} "
                        f"vs {str(prov.get('sha256', ''))[:12]}); write it under a new feature name or delete the old one")
                if info["kind"] != kind or info["shape"][1] != matrix.shape[1]:
                    raise FeatureShapeError(f"{name}: stored as {info['kind']} {info['shape']}, got {kind} {matrix.shape}")
                prov["created_at"] = old_prov.get("created_at", now())
                self._supersede(name, ids, hashes)
            else:
                prov["created_at"] = now()
                manifest.features[name] = Feature(name, kind, int(matrix.shape[1]), "", "", [])
            feat = manifest.features[name]
            feat.provenance_json, feat.updated_at = json.dumps(prov, sort_keys=True), now()
            if artifacts is not None:
                feat.artifacts = self._artifacts(feat, artifacts)
            ref = self.adopt(self.txn.segment(name, kind, ids, matrix, self.next_version, hashes))
            feat.segments.append(Segment(ref, len(ids), np.empty(0, np.int64)))
            self.touch(name)

    def _artifacts(self, feat, artifacts):
        digest = artifacts_hash(artifacts)
        if feat.artifacts is not None:
            f = self.store._piece(feat.artifacts).h5()
            if f.attrs.get("content_hash") == digest:
                return feat.artifacts
        return self.adopt(self.txn.artifacts(artifacts, digest))

    def _supersede(self, name, ids, hashes) -> int:
        """Mark the live rows of ``ids`` in feature ``name`` as deleted; returns how many."""
        view = self.store._view(name)
        seg_of, row_of = view.find(ids, hashes)
        feat = self.store._manifest.features[name]
        segments = []
        for k, seg in enumerate(feat.segments):
            hit = row_of[seg_of == k]
            if len(hit):
                seg = Segment(seg.piece, seg.rows, np.union1d(seg.deleted, hit).astype(np.int64))
            if seg.live:
                segments.append(seg)
        hits = int((seg_of >= 0).sum())
        if hits:
            feat.segments = segments
            self.touch(name)
        return hits

    def delete_rows(self, name, ids):
        self.store._view(name)  # UnknownFeatureError for unknown names
        ids = list(dict.fromkeys(str(i) for i in ids))
        with self.batch():
            n = self._supersede(name, ids, hash_ids(ids))
            if not self.store._manifest.features[name].segments:
                del self.store._manifest.features[name]
        return n

    def delete_feature(self, name):
        self.store._view(name)
        with self.batch():
            del self.store._manifest.features[name]
            self.touch(name)

    def replace_movies(self, columns, labels, genres, report=None):
        store = self.store
        n = len(columns["id"])
        labels = np.asarray(labels, dtype=np.uint8).reshape(n, len(genres))
        reports = store._tbl().reports() + ([json.dumps(report)] if report else [])
        with self.batch():
            ref = self.adopt(self.txn.table(columns, labels, genres, reports))
            store._manifest.table, store._manifest.table_rows = ref, n
            store._reset_views()

    def compact_all(self, feature=None, progress=None) -> dict:
        names = [feature] if feature is not None else self.store.features()
        for name in names:
            self.store._view(name)
        done = {}
        with self.batch():
            for name in names:
                before = len(self.store._manifest.features[name].segments)
                compaction.compact_feature(self, name, progress)
                done[name] = (before, len(self.store._manifest.features[name].segments))
        return done
