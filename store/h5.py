"""FeatureStore: the only module that imports h5py.

Reads go through a read-only handle on the current file; contiguous dense features are
additionally memory-mapped at their byte offset, so a lookup of k random ids costs a
dict lookup and a numpy gather rather than an HDF5 hyperslab selection. Writes build the
next version of the file beside it and swap it in atomically (see ``store.atomic``).
"""

import contextlib
import json
import os
import re
import time

import h5py
import numpy as np
import scipy.sparse as sp

from . import atomic, schema
from .errors import (
    FeatureShapeError, NotAStoreError, ProvenanceError, ReadOnlyError, SchemaVersionError,
    StoreError, UnknownFeatureError, UnknownIdsError,
)
from .version import PACKAGE_VERSION

FEATURE_NAME = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
_STR = h5py.string_dtype("utf-8")


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


def _strings(ds) -> list:
    return list(ds.asstr()[()]) if ds.shape[0] else []


def _check_readable(f, path):
    if f.attrs.get("format") != schema.FORMAT:
        raise NotAStoreError(f"{path} is an HDF5 file but not a onesheet store; create one with `onesheet ingest`")
    version = int(f.attrs.get("schema_version", -1))
    if version in schema.READABLE_VERSIONS:
        return
    if version > schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} has store schema v{version}, newer than this onesheet ({PACKAGE_VERSION}, "
            f"schema v{schema.SCHEMA_VERSION}) reads; upgrade onesheet (pip install -U onesheet)"
        )
    raise SchemaVersionError(
        f"{path} has store schema v{version}, which this onesheet no longer reads; rebuild it "
        f"with `onesheet featurize CATALOG.csv --store {path}`"
    )


def _open_h5(path, mode="r"):
    try:
        return h5py.File(path, mode)
    except FileNotFoundError:
        raise NotAStoreError(f"{path} does not exist; create it with `onesheet ingest CATALOG.csv --store {path}`") from None
    except OSError as exc:
        raise NotAStoreError(f"{path} is not a readable HDF5 feature store ({exc.__class__.__name__}: {exc})") from None


def _copy_attrs(src, dst):
    for key, value in src.attrs.items():
        dst.attrs[key] = value


def _copy_tree(src_group, dst_group, skip):
    """Copy everything below src_group except the paths in ``skip`` (and what is below them)."""
    for name, obj in src_group.items():
        if obj.name in skip:
            continue
        if isinstance(obj, h5py.Group) and any(s.startswith(obj.name + "/") for s in skip):
            sub = dst_group.create_group(name)
            _copy_attrs(obj, sub)
            _copy_tree(obj, sub, skip)
        else:
            src_group.copy(obj, dst_group, name=name)


class FeatureStore:
    """One HDF5 file of movies, multi-hot labels and named feature matrices keyed by movie id."""

    def __init__(self, path, mode="r"):
        if mode not in ("r", "a"):
            raise ValueError("mode must be 'r' or 'a'")
        self.path = os.path.abspath(path)
        self.mode = mode
        self._lock = None
        self._f = None
        self._txn = None
        if mode == "a":
            self._lock = atomic.WriterLock(self.path)
            self._lock.acquire()
            atomic.remove_stale_temps(self.path)
            if not os.path.exists(self.path):
                self._create_empty()
        try:
            self._reopen()
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
        if self._f is not None:
            self._f.close()
            self._f = None
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    # -- reading -----------------------------------------------------------------
    def _reopen(self):
        if self._f is not None:
            self._f.close()
        self._f = _open_h5(self.path)
        _check_readable(self._f, self.path)
        self._cache = {}

    def _cached(self, key, build):
        if key not in self._cache:
            self._cache[key] = build()
        return self._cache[key]

    @property
    def schema_version(self) -> int:
        return int(self._f.attrs["schema_version"])

    def ids(self) -> list:
        """All movie ids, in table order."""
        return self._cached("ids", lambda: _strings(self._f[schema.MOVIES]["id"]))

    def _movie_index(self) -> dict:
        return self._cached("movie_index", lambda: {m: i for i, m in enumerate(self.ids())})

    def __len__(self):
        return len(self.ids())

    def genres(self) -> list:
        return [str(g) for g in self._f[schema.LABELS].attrs["genres"]]

    def movies(self) -> dict:
        """The whole movie table as columns (lists / int arrays), rows in ``ids()`` order."""
        def build():
            g = self._f[schema.MOVIES]
            out = {c: _strings(g[c]) for c in ("id", "title", "overview", "poster", "poster_sha256")}
            out["year"] = g["year"][()].astype(int)
            out["decade"] = g["decade"][()].astype(int)
            return out
        return self._cached("movies", build)

    def _rows_of(self, ids, index, what):
        ids = [str(i) for i in ids]
        try:
            return np.fromiter((index[i] for i in ids), dtype=np.int64, count=len(ids))
        except KeyError:
            missing = [i for i in dict.fromkeys(ids) if i not in index]
            shown = ", ".join(missing[:10]) + (f" (+{len(missing) - 10} more)" if len(missing) > 10 else "")
            raise UnknownIdsError(f"{len(missing)} id(s) not in {what}: {shown}", missing) from None

    def labels(self, ids) -> np.ndarray:
        """(len(ids), n_genres) uint8 multi-hot labels, in the asked order."""
        rows = self._rows_of(ids, self._movie_index(), "the store")
        full = self._cached("labels", lambda: self._f[schema.LABELS][()])
        return full[rows]

    def decades(self) -> list:
        """Decades with at least one movie, ascending (unknown years excluded)."""
        d = self.movies()["decade"]
        return sorted(int(x) for x in np.unique(d) if x != schema.UNKNOWN_YEAR)

    def features(self) -> list:
        names = []
        if schema.FEATURES in self._f:
            def visit(name, obj):
                if isinstance(obj, h5py.Group) and "kind" in obj.attrs:
                    names.append(name)
            self._f[schema.FEATURES].visititems(visit)
        return sorted(names)

    def _feature_group(self, name):
        path = f"{schema.FEATURES}/{name}"
        if not FEATURE_NAME.match(name) or path not in self._f or "kind" not in self._f[path].attrs:
            known = ", ".join(self.features()) or "none yet"
            raise UnknownFeatureError(f"no feature {name!r} in {self.path}; features: {known}")
        return self._f[path]

    def provenance(self, name) -> dict:
        return json.loads(self._feature_group(name).attrs["provenance"])

    def feature_info(self, name) -> dict:
        g = self._feature_group(name)
        kind = g.attrs["kind"]
        shape = tuple(int(x) for x in (g["matrix"].shape if kind == schema.DENSE else g.attrs["shape"]))
        return {"name": name, "kind": str(kind), "shape": shape, "updated_at": str(g.attrs["updated_at"]),
                "provenance": self.provenance(name)}

    def feature_ids(self, name) -> list:
        return self._cached(("fids", name), lambda: _strings(self._feature_group(name)["ids"]))

    def _feature_index(self, name) -> dict:
        key = ("fidx", name)
        if key not in self._cache:  # fast path first: lookups of one id must stay well under a millisecond
            self._cache[key] = {m: i for i, m in enumerate(self.feature_ids(name))}
        return self._cache[key]

    def _dense(self, name):
        """The dense matrix as an ndarray-like: a read-only memmap when contiguous, else the dataset."""
        def build():
            ds = self._feature_group(name)["matrix"]
            offset = ds.id.get_offset()
            if ds.chunks is None and ds.compression is None and offset is not None:
                return np.memmap(self.path, dtype=ds.dtype, mode="r", offset=offset, shape=ds.shape)
            return ds
        return self._cached(("dense", name), build)

    def _sparse_parts(self, name):
        def build():
            g = self._feature_group(name)
            return g["indptr"][()], g["indices"], g["data"], tuple(int(x) for x in g.attrs["shape"])
        return self._cached(("sparse", name), build)

    def _kind(self, name):
        return self._cached(("kind", name), lambda: str(self._feature_group(name).attrs["kind"]))

    def _gather(self, name, rows):
        if self._kind(name) == schema.DENSE:
            matrix = self._dense(name)
            if isinstance(matrix, np.ndarray):
                return np.asarray(matrix[rows])
            order = np.unique(rows)  # h5py wants sorted unique indices
            block = matrix[order] if len(order) else np.empty((0, matrix.shape[1]), matrix.dtype)
            return block[np.searchsorted(order, rows)]
        indptr, indices, data, shape = self._sparse_parts(name)
        if not isinstance(indices, np.ndarray) and len(rows) * 20 > shape[0]:
            indices, data = indices[()], data[()]
            self._cache[("sparse", name)] = (indptr, indices, data, shape)
        starts, stops = indptr[rows], indptr[rows + 1]
        lengths = stops - starts
        new_indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        if isinstance(indices, np.ndarray):
            take = np.repeat(starts - new_indptr[:-1], lengths) + np.arange(new_indptr[-1])
            new_indices, new_data = indices[take], data[take]
        else:
            new_indices = np.concatenate([indices[a:b] for a, b in zip(starts, stops)] or [np.empty(0, np.int32)])
            new_data = np.concatenate([data[a:b] for a, b in zip(starts, stops)] or [np.empty(0, np.float32)])
        return sp.csr_matrix((new_data, new_indices, new_indptr), shape=(len(rows), shape[1]))

    def lookup(self, ids, feature):
        """Rows of ``feature`` for ``ids`` in the asked order (repeats allowed).

        Dense features give a float32 ndarray, sparse ones a scipy CSR matrix. Ids the
        feature does not cover raise UnknownIdsError listing them.
        """
        if isinstance(ids, str):
            raise TypeError("lookup takes a list of ids; wrap a single id in a list")
        rows = self._rows_of(ids, self._feature_index(feature), f"feature {feature!r}")
        return self._gather(feature, rows)

    def matrix(self, feature, decades=None):
        """(ids, X) for every movie holding ``feature``, optionally only from ``decades``."""
        fids = self.feature_ids(feature)
        rows = np.arange(len(fids))
        if decades is not None:
            wanted = {int(d) for d in decades}
            idx = self._movie_index()
            dec = self.movies()["decade"]
            rows = np.array([i for i, m in enumerate(fids) if m in idx and dec[idx[m]] in wanted], dtype=np.int64)
        return [fids[i] for i in rows], self._gather(feature, rows)

    def ingest_reports(self) -> list:
        if schema.INGEST_REPORTS not in self._f:
            return []
        return [json.loads(s) for s in _strings(self._f[schema.INGEST_REPORTS])]

    def info(self) -> dict:
        """A summary for people and tools: counts, decades, genres, features with provenance."""
        movies = self.movies()
        labels = self._cached("labels", lambda: self._f[schema.LABELS][()])
        decades, counts = np.unique(movies["decade"], return_counts=True)
        reports = self.ingest_reports()
        return {
            "path": self.path,
            "schema_version": self.schema_version,
            "package_version": str(self._f.attrs.get("package_version", "")),
            "created_at": str(self._f.attrs.get("created_at", "")),
            "movies": len(movies["id"]),
            "labelled_movies": int((labels.sum(axis=1) > 0).sum()) if len(labels) else 0,
            "decades": {("unknown" if d == schema.UNKNOWN_YEAR else int(d)): int(c) for d, c in zip(decades, counts)},
            "genres": {g: int(c) for g, c in zip(self.genres(), labels.sum(axis=0) if len(labels) else [0] * len(self.genres()))},
            "features": [self.feature_info(n) for n in self.features()],
            "last_ingest": ({k: v for k, v in reports[-1].items() if k != "problems"} if reports else None),
        }

    def verify(self) -> list:
        """Structural checks; returns a list of problems (empty when the store is sound)."""
        from .verify import verify_store
        return verify_store(self)

    # -- writing -----------------------------------------------------------------
    def _require_writable(self):
        if self.mode != "a":
            raise ReadOnlyError(f"{self.path} was opened read-only; open it with mode='a' to write")

    def _create_empty(self):
        tmp = atomic.temp_path(self.path)
        with h5py.File(tmp, "w") as f:
            f.attrs["format"] = schema.FORMAT
            f.attrs["schema_version"] = schema.SCHEMA_VERSION
            f.attrs["created_at"] = _now()
            f.attrs["package_version"] = PACKAGE_VERSION
            g = f.create_group(schema.MOVIES)
            for c in ("id", "title", "overview", "poster", "poster_sha256"):
                g.create_dataset(c, shape=(0,), dtype=_STR)
            g.create_dataset("year", shape=(0,), dtype=np.int16)
            g.create_dataset("decade", shape=(0,), dtype=np.int16)
            labels = f.create_dataset(schema.LABELS, shape=(0, 0), dtype=np.uint8)
            labels.attrs["genres"] = np.array([], dtype=_STR)
            f.create_group(schema.FEATURES)
        atomic.commit(tmp, self.path)

    @contextlib.contextmanager
    def batch(self):
        """Group several writes into one atomic commit (and one copy of the file)."""
        self._require_writable()
        if self._txn is not None:
            yield self
            return
        self._txn = {"file": None}
        try:
            yield self
            if self._txn["file"] is not None:
                self._txn["file"].close()
                atomic.commit(self._txn["tmp"], self.path)
        except BaseException:
            if self._txn["file"] is not None:
                self._txn["file"].close()
                with contextlib.suppress(FileNotFoundError):
                    os.remove(self._txn["tmp"])
            raise
        finally:
            self._txn = None
            self._reopen()

    def _writable(self, replace):
        """The next version of the file, open for writing, with ``replace`` paths absent."""
        txn = self._txn
        if txn["file"] is None:
            txn["tmp"] = atomic.temp_path(self.path)
            out = h5py.File(txn["tmp"], "w")
            _copy_attrs(self._f, out)
            _copy_tree(self._f, out, {"/" + p.strip("/") for p in replace})
            txn["file"] = out
        out = txn["file"]
        for p in replace:
            if p in out:
                del out[p]
        return out

    @contextlib.contextmanager
    def _write(self, replace):
        with self.batch():
            yield self._writable(replace)

    def artifacts(self, name) -> dict:
        """Arrays an encoder stored beside its feature (vocabulary, idf, ...) to be rebuilt exactly."""
        g = self._feature_group(name)
        if "artifacts" not in g:
            return {}
        out = {}
        for key, ds in g["artifacts"].items():
            out[key] = np.array(_strings(ds), dtype=object) if h5py.check_string_dtype(ds.dtype) else ds[()]
        return out

    def write_features(self, name, ids, matrix, provenance, artifacts=None):
        """Store rows of a named feature; rows for ids already present are replaced.

        ``provenance`` needs at least encoder, sha256 and preprocessing. Writing rows whose
        provenance differs from the stored feature's raises ProvenanceError: a different
        encoder is a different feature name, never mixed into this one.
        """
        self._require_writable()
        if not FEATURE_NAME.match(name):
            raise StoreError(f"feature name {name!r} must look like 'source/name' (letters, digits, - _ .)")
        ids = [str(i) for i in ids]
        if len(set(ids)) != len(ids):
            raise FeatureShapeError(f"write_features({name!r}) got duplicate ids")
        self._rows_of(ids, self._movie_index(), "the store's movie table (ingest them first)")
        sparse = sp.issparse(matrix)
        matrix = sp.csr_matrix(matrix, dtype=np.float32) if sparse else np.asarray(matrix, dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(ids):
            raise FeatureShapeError(f"{name}: matrix shape {matrix.shape} does not match {len(ids)} ids")
        if not sparse and not np.isfinite(matrix).all():
            raise FeatureShapeError(f"{name}: matrix holds NaN or infinite values")
        missing = [k for k in schema.REQUIRED_PROVENANCE if k not in provenance]
        if missing:
            raise ProvenanceError(f"{name}: provenance lacks {', '.join(missing)}")
        prov = dict(provenance, schema_version=schema.SCHEMA_VERSION, package_version=PACKAGE_VERSION)
        kind = schema.SPARSE if sparse else schema.DENSE
        if name in self.features():
            old_prov, info = self.provenance(name), self.feature_info(name)
            clash = [k for k in schema.IDENTITY_PROVENANCE if old_prov.get(k) != prov.get(k)]
            if clash:
                raise ProvenanceError(
                    f"{name}: {', '.join(clash)} differ from the stored feature ({old_prov.get('sha256', '')[:12]} vs "
                    f"{str(prov.get('sha256', ''))[:12]}); write it under a new feature name or delete the old one"
                )
            if info["kind"] != kind or info["shape"][1] != matrix.shape[1]:
                raise FeatureShapeError(f"{name}: stored as {info['kind']} {info['shape']}, got {kind} {matrix.shape}")
            prov["created_at"] = old_prov.get("created_at", _now())
            artifacts = self.artifacts(name) if artifacts is None else artifacts
            ids, matrix = self._merge(name, ids, matrix, kind)
        else:
            prov["created_at"] = _now()
        self._put_feature(name, ids, matrix, kind, prov, artifacts)

    def _put_feature(self, name, ids, matrix, kind, prov, artifacts=None):
        path = f"{schema.FEATURES}/{name}"
        with self._write([path]) as f:
            g = f.create_group(path)
            g.attrs.update(kind=kind, source=name.split("/")[0], updated_at=_now(),
                           provenance=json.dumps(prov, sort_keys=True))
            g.create_dataset("ids", data=np.array(ids, dtype=_STR))
            if kind == schema.SPARSE:
                matrix = sp.csr_matrix(matrix, dtype=np.float32)
                matrix.sort_indices()
                g.create_dataset("data", data=matrix.data.astype(np.float32))
                g.create_dataset("indices", data=matrix.indices.astype(np.int32))
                g.create_dataset("indptr", data=matrix.indptr.astype(np.int64))
                g.attrs["shape"] = np.array(matrix.shape, dtype=np.int64)
            else:
                g.create_dataset("matrix", data=np.asarray(matrix, dtype=np.float32))  # contiguous: memory-mappable
            for key, value in (artifacts or {}).items():
                value = np.asarray(value)
                if value.dtype == object or value.dtype.kind in "US":
                    value = np.array([str(v) for v in value], dtype=_STR)
                g.create_dataset(f"artifacts/{key}", data=value)

    def _merge(self, name, ids, matrix, kind):
        old_ids = self.feature_ids(name)
        new_pos = {m: i for i, m in enumerate(ids)}
        keep = [i for i, m in enumerate(old_ids) if m not in new_pos]
        old = self._gather(name, np.array(keep, dtype=np.int64))
        merged_ids = [old_ids[i] for i in keep] + ids
        merged = sp.vstack([old, matrix], format="csr") if kind == schema.SPARSE else np.vstack([old, matrix])
        return merged_ids, merged

    def delete_rows(self, name, ids):
        """Drop the rows of ``ids`` from a feature (e.g. when a poster changed); returns how many."""
        self._require_writable()
        drop = set(map(str, ids)) & set(self.feature_ids(name))
        if not drop:
            return 0
        keep = [m for m in self.feature_ids(name) if m not in drop]
        if not keep:
            self.delete_feature(name)
            return len(drop)
        rows = self._gather(name, self._rows_of(keep, self._feature_index(name), name))
        info = self.feature_info(name)
        self._put_feature(name, keep, rows, info["kind"], info["provenance"], self.artifacts(name))
        return len(drop)

    def delete_feature(self, name):
        self._feature_group(name)
        self._require_writable()
        with self._write([f"{schema.FEATURES}/{name}"]):
            pass

    def replace_movies(self, columns, labels, genres, report=None):
        """Replace the movie table and labels (rows aligned); append an ingest report."""
        self._require_writable()
        n = len(columns["id"])
        labels = np.asarray(labels, dtype=np.uint8).reshape(n, len(genres))
        reports = [json.dumps(r) for r in self.ingest_reports()] + ([json.dumps(report)] if report else [])
        with self._write([schema.MOVIES, schema.LABELS, schema.INGEST_REPORTS]) as f:
            g = f.create_group(schema.MOVIES)
            for c in ("id", "title", "overview", "poster", "poster_sha256"):
                g.create_dataset(c, data=np.array(list(columns[c]), dtype=_STR))
            for c in ("year", "decade"):
                g.create_dataset(c, data=np.asarray(columns[c], dtype=np.int16))
            ds = f.create_dataset(schema.LABELS, data=labels)
            ds.attrs["genres"] = np.array(list(genres), dtype=_STR)
            f.create_dataset(schema.INGEST_REPORTS, data=np.array(reports, dtype=_STR))
