"""FeatureStore: the store's public API (the ``store`` package is the only h5py user).

A store opened for reading sees exactly one version (a snapshot) until ``refresh()``;
``is_stale()`` says, with one stat, whether a newer version was committed. Opened with
mode 'a' it is the single writer: every commit writes new immutable pieces and then a new
master (see ``store.writing`` and ``store.schema``), and it sees its own commits at once.
"""

import json
import os
import re

import numpy as np

from . import atomic, schema
from .errors import ReadOnlyError, UnknownFeatureError
from .idhash import hash_ids
from .reading import FeatureView, TableView, WrittenMaster, load_snapshot, unknown_ids

FEATURE_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")


class FeatureStore:
    """Movies, multi-hot labels and named feature matrices keyed by movie id, one version at a time."""

    def __init__(self, path, mode="r"):
        if mode not in ("r", "a"):
            raise ValueError("mode must be 'r' or 'a'")
        self.path = atomic.resolve(path)
        self.folder = os.path.join(os.path.dirname(self.path), schema.pieces_dir_name(os.path.basename(self.path)))
        self.mode = mode
        self._pool, self._master, self._manifest = {}, None, None
        self._writer = None
        self._reset_views()
        try:
            if mode == "a":
                from .writing import StoreWriter
                self._writer = StoreWriter(self)
            else:
                self._load()
        except BaseException:
            self.close()
            raise

    @classmethod
    def open(cls, path, mode="r"):
        """Open a store for reading ('r') or reading and writing ('a', created when missing)."""
        return cls(path, mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        for piece in self._pool.values():
            piece.close()
        self._pool = {}
        if self._master is not None:
            self._master.close()
            self._master = None
        if self._writer is not None:
            self._writer.release()
            self._writer = None
        self._reset_views()

    # -- versions ----------------------------------------------------------------
    def _reset_views(self):
        self._table = None
        self._views = {}

    def _load(self):
        """Read the current master and open what it names.

        The new state replaces the old one by plain assignments, and pieces no longer named
        are dropped rather than closed: a lookup running in another thread on the old
        version keeps its pieces alive and finishes on them (they close when released).
        """
        master, manifest, opened = load_snapshot(self.path, self.folder, self._pool)
        pool = {name: piece for name, piece in {**self._pool, **opened}.items() if name in manifest.piece_files()}
        self._pool, self._master, self._manifest = pool, master, manifest
        self._reset_views()

    def _adopt_master(self, manifest):
        """After this writer's own commit: hold the new master; the manifest is the one just written."""
        master = WrittenMaster(self.path)
        if self._master is not None:
            self._master.close()
        self._master, self._manifest = master, manifest
        self._reset_views()

    @property
    def version(self) -> int:
        """The version this handle reads (monotonic; 0 for a schema v1 store)."""
        return self._manifest.version

    @property
    def schema_version(self) -> int:
        return self._manifest.schema_version

    def is_stale(self) -> bool:
        """True when another version was committed since this snapshot (one stat, no HDF5)."""
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return True
        return (now.st_ino, now.st_dev) != self._master.inode

    def refresh(self) -> bool:
        """Move to the newest committed version; returns whether the version changed."""
        if self._writer is not None or not self.is_stale():
            return False
        before = self._manifest.version
        self._load()
        return self._manifest.version != before

    # -- reading -----------------------------------------------------------------
    def _piece(self, ref):
        return self._master if ref.file == "" else self._pool[ref.file]

    def _tbl(self) -> TableView:
        if self._table is None:
            m = self._manifest
            self._table = TableView(self._piece(m.table), m.table, m.table_rows)
        return self._table

    def _view(self, name) -> FeatureView:
        if name not in self._views:
            feat = self._manifest.features.get(name) if FEATURE_NAME.match(str(name)) else None
            if feat is None:
                known = ", ".join(self.features()) or "none yet"
                raise UnknownFeatureError(f"no feature {name!r} in {self.path}; features: {known}")
            self._views[name] = FeatureView(feat, [self._piece(s.piece) for s in feat.segments])
        return self._views[name]

    def ids(self) -> list:
        """All movie ids, in table order."""
        return self._tbl().ids()

    def __len__(self):
        return self._manifest.table_rows

    def genres(self) -> list:
        return self._tbl().genres()

    def movies(self) -> dict:
        """The whole movie table as columns (lists / int arrays), rows in ``ids()`` order."""
        return self._tbl().columns()

    def _table_rows(self, ids, what="the store"):
        index = self._tbl().index()
        try:
            return np.fromiter((index[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError:
            raise unknown_ids(ids, index, what) from None

    def labels(self, ids) -> np.ndarray:
        """(len(ids), n_genres) uint8 multi-hot labels, in the asked order."""
        return self._tbl().labels()[self._table_rows([str(i) for i in ids])]

    def decades(self) -> list:
        """Decades with at least one movie, ascending (unknown years excluded)."""
        d = self.movies()["decade"]
        return sorted(int(x) for x in np.unique(d) if x != schema.UNKNOWN_YEAR)

    def features(self) -> list:
        return sorted(self._manifest.features)

    def provenance(self, name) -> dict:
        return self._view(name).provenance()

    def feature_info(self, name) -> dict:
        view = self._view(name)
        feat = view.feature
        return {"name": name, "kind": feat.kind, "shape": (view.rows, feat.dim), "updated_at": feat.updated_at,
                "provenance": view.provenance(), "segments": len(feat.segments),
                "superseded_rows": int(sum(len(s.deleted) for s in feat.segments))}

    def feature_ids(self, name) -> list:
        return self._view(name).ids()

    def contains(self, feature, ids) -> np.ndarray:
        """Whether ``feature`` holds a row for each id (a bool array; all False for a feature not stored).

        Found through the pieces' id hashes, so the cost grows with ``len(ids)``, not with the
        feature: a resumed featurize asks about one catalog without listing a million stored ids.
        """
        ids = [str(i) for i in ids]
        if feature not in self._manifest.features:
            return np.zeros(len(ids), bool)
        seg_of, _ = self._view(feature).find(ids, hash_ids(ids))
        return seg_of >= 0

    def artifacts(self, name) -> dict:
        """Arrays an encoder stored beside its feature (vocabulary, idf, ...) to be rebuilt exactly."""
        ref = self._view(name).feature.artifacts
        if ref is None:
            return {}
        f = self._piece(ref).h5()
        group = f[ref.group.rstrip("/") + "/artifacts"]
        out = {}
        for key, ds in group.items():
            out[key] = np.array(list(ds.asstr()[()]), dtype=object) if ds.dtype.kind == "O" else ds[()]
        return out

    def lookup(self, ids, feature):
        """Rows of ``feature`` for ``ids`` in the asked order (repeats allowed).

        Dense features give a float32 ndarray, sparse ones a scipy CSR matrix. Ids the
        feature does not cover raise UnknownIdsError listing them.
        """
        if isinstance(ids, str):
            raise TypeError("lookup takes a list of ids; wrap a single id in a list")
        view = self._view(feature)
        return view.gather(view.positions(ids))

    def matrix(self, feature, decades=None):
        """(ids, X) for every movie holding ``feature``, optionally only from ``decades``."""
        view = self._view(feature)
        fids = view.ids()
        rows = np.arange(len(fids))
        if decades is not None:
            wanted = {int(d) for d in decades}
            idx, dec = self._tbl().index(), self.movies()["decade"]
            rows = np.array([i for i, m in enumerate(fids) if m in idx and dec[idx[m]] in wanted], dtype=np.int64)
        return [fids[i] for i in rows], view.gather(rows)

    def similar(self, movie_id, feature, k=10):
        """[(id, cosine similarity)] of the k movies most similar to ``movie_id`` (see store.similar)."""
        from .similar import similar_index
        return similar_index(self, feature).nearest(str(movie_id), k)

    def ingest_reports(self) -> list:
        return [json.loads(s) for s in self._tbl().reports()]

    def info(self) -> dict:
        """A summary for people and tools: counts, decades, genres, features with provenance."""
        movies, labels = self.movies(), self._tbl().labels()
        decades, counts = np.unique(movies["decade"], return_counts=True)
        reports = self.ingest_reports()
        m = self._manifest
        return {
            "path": self.path,
            "schema_version": m.schema_version,
            "version": m.version,
            "package_version": m.package_version,
            "created_at": m.created_at,
            "committed_at": m.committed_at,
            "movies": len(movies["id"]),
            "labelled_movies": int((labels.sum(axis=1) > 0).sum()) if len(labels) else 0,
            "decades": {("unknown" if d == schema.UNKNOWN_YEAR else int(d)): int(c) for d, c in zip(decades, counts)},
            "genres": {g: int(c) for g, c in zip(self.genres(), labels.sum(axis=0) if len(labels) else [0] * len(self.genres()))},
            "features": [self.feature_info(n) for n in self.features()],
            "last_ingest": ({k: v for k, v in reports[-1].items() if k != "problems"} if reports else None),
        }

    def verify(self, deep=True) -> list:
        """Every problem found (empty when sound). ``deep`` also hashes every piece and scans values."""
        from .verify import verify_store
        return verify_store(self, deep=deep)

    # -- writing (store.writing does the work) ----------------------------------
    def _require_writer(self):
        if self._writer is None:
            raise ReadOnlyError(f"{self.path} was opened read-only; open it with mode='a' to write")
        return self._writer

    def batch(self):
        """Group several writes into one atomic commit (one new master)."""
        return self._require_writer().batch()

    def write_features(self, name, ids, matrix, provenance, artifacts=None):
        """Store rows of a named feature; rows for ids already present are superseded.

        ``provenance`` needs at least encoder, sha256 and preprocessing. Writing rows whose
        provenance differs from the stored feature's raises ProvenanceError: a different
        encoder is a different feature name, never mixed into this one.
        """
        self._require_writer().write_features(name, ids, matrix, provenance, artifacts)

    def delete_rows(self, name, ids):
        """Drop the rows of ``ids`` from a feature (e.g. when a poster changed); returns how many."""
        return self._require_writer().delete_rows(name, ids)

    def delete_feature(self, name):
        self._require_writer().delete_feature(name)

    def replace_movies(self, columns, labels, genres, report=None):
        """Replace the movie table and labels (rows aligned); append an ingest report."""
        self._require_writer().replace_movies(columns, labels, genres, report)

    def compact(self, feature=None, progress=None) -> dict:
        """Merge every feature's (or one feature's) segments into one, dropping superseded rows.

        Readers are never blocked; returns {feature: (segments before, after)}.
        """
        return self._require_writer().compact_all(feature, progress)
