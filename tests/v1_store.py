"""A writer of the schema v1 layout (one HDF5 file), as onesheet 0.1 wrote it: the fixture for
the v1 reader and for `onesheet store migrate` (store/schema.py's rule 3)."""

import json

import h5py
import numpy as np
import scipy.sparse as sp

STR = h5py.string_dtype("utf-8")


def write_v1_store(path, n=40, dense_dim=6, sparse_dim=9, seed=0):
    """A v1 store of ``n`` movies with one dense and one sparse feature (with artifacts); returns the data."""
    rng = np.random.default_rng(seed)
    ids = [f"v{i}" for i in range(n)]
    dense = rng.normal(size=(n - 3, dense_dim)).astype(np.float32)        # covers all but the last 3 movies
    sparse = sp.random(n, sparse_dim, density=0.3, random_state=seed, format="csr", dtype=np.float32)
    labels = (rng.random((n, 3)) < 0.4).astype(np.uint8)
    with h5py.File(path, "w") as f:
        f.attrs.update(format="onesheet-feature-store", schema_version=1, created_at="2026-01-01T00:00:00+0000",
                       package_version="0.1.0")
        g = f.create_group("movies")
        for c in ("id", "title", "overview", "poster", "poster_sha256"):
            g.create_dataset(c, data=np.array(ids if c == "id" else [f"{c} {m}" for m in ids], dtype=STR))
        g.create_dataset("year", data=np.array([1950 + i for i in range(n)], np.int16))
        g.create_dataset("decade", data=np.array([(1950 + i) // 10 * 10 for i in range(n)], np.int16))
        ds = f.create_dataset("labels/multi_hot", data=labels)
        ds.attrs["genres"] = np.array(["A", "B", "C"], dtype=STR)
        f.create_dataset("reports/ingest", data=np.array([json.dumps({"catalog": "old.csv", "rows_kept": n})], dtype=STR))
        prov = json.dumps({"encoder": "old", "sha256": "0" * 64, "preprocessing": "none", "schema_version": 1})
        d = f.create_group("features/poster/old")
        d.attrs.update(kind="dense", source="poster", updated_at="2026-01-01T00:00:00+0000", provenance=prov)
        d.create_dataset("ids", data=np.array(ids[:n - 3], dtype=STR))
        d.create_dataset("matrix", data=dense)
        s = f.create_group("features/overview/words")
        s.attrs.update(kind="sparse", source="overview", updated_at="2026-01-01T00:00:00+0000", provenance=prov,
                       shape=np.array(sparse.shape, np.int64))
        s.create_dataset("ids", data=np.array(ids, dtype=STR))
        s.create_dataset("data", data=sparse.data)
        s.create_dataset("indices", data=sparse.indices.astype(np.int32))
        s.create_dataset("indptr", data=sparse.indptr.astype(np.int64))
        s.create_dataset("artifacts/terms", data=np.array([f"w{j}" for j in range(sparse_dim)], dtype=STR))
        s.create_dataset("artifacts/idf", data=np.arange(sparse_dim, dtype=np.float64))
    return {"ids": ids, "dense": dense, "sparse": sparse, "labels": labels}
