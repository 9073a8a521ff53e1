"""Approximate nearest neighbours for large dense features (faiss), re-ranked exactly.

faiss (``pip install 'onesheet[ann]'``) indexes a reduced copy: rows are normalised,
projected by PCA to ``DIMS`` dimensions and stored 8-bit quantised in an inverted file
(IVF) of ~2 sqrt(n) lists. A query probes ``NPROBE`` lists for ``CANDIDATES`` candidates,
which are then re-ranked by their exact cosine similarity read from the store's memory
maps. Labels are the rows' 64-bit id hashes, so the index survives compaction; when the
store moves on, rows written after the index's version are re-added and rows no longer
live are skipped at query time (and dropped by a rebuild once they are a quarter of it).

The index is saved beside the store as ``STORE.h5.d/ann-<feature>.h5``: an HDF5 file
recording its format version, the feature, the feature's provenance sha256 and the store
(creation time) and version it covers, with faiss's own serialisation as a byte array
(never pickle). An index of another feature, encoder or store is rebuilt.
"""

import os

import h5py
import numpy as np

from . import atomic, schema
from .errors import StoreError
from .idhash import hash_ids
from .manifest import now
from .version import PACKAGE_VERSION

FORMAT = "onesheet-ann-index"
FORMAT_VERSION = 1
DIMS = 128
NPROBE = 32
CANDIDATES = 200
TRAIN_ROWS = 100_000
PCA_ROWS = 30_000
BLOCK_ROWS = 32_768
REBUILD_GARBAGE = 0.25


def _faiss():
    try:
        import faiss
    except ImportError:
        raise StoreError("similar-movie search over more than a few ten thousand rows needs faiss: "
                         "pip install 'onesheet[ann]' (faiss-cpu)") from None
    return faiss


def _unit(x):
    """Rows scaled to unit length (einsum, not BLAS: no thread hand-offs for a few rows)."""
    x = np.ascontiguousarray(x, dtype=np.float32)
    return x / np.maximum(np.sqrt(np.einsum("ij,ij->i", x, x)), 1e-12)[:, None]


def index_path(store, feature) -> str:
    return os.path.join(store.folder, "ann-" + feature.replace("/", "@") + ".h5")


def _live_rows(view):
    """(segment view, local live rows, id hashes of those rows, their written versions) per segment."""
    for seg in view.segments:
        group = seg.piece.h5()[seg.segment.piece.group]
        rows = seg.live_rows if seg.live_rows is not None else np.arange(seg.segment.rows)
        hashes = group["id_hash"][()] if "id_hash" in group else hash_ids(seg.all_ids())
        yield seg, rows, hashes[rows], seg.written_versions()[rows]


class SimilarIndex:
    """ANN candidates + exact re-ranking over one dense feature of one store version."""

    def __init__(self, store, feature, index, version, garbage=0):
        self.store, self.feature, self.index, self.version, self.garbage = store, feature, index, version, garbage
        self._split()
        self._map_hashes()

    def _split(self):
        """Queries apply the PCA with numpy and search the IVF directly: one vector through
        faiss's multithreaded BLAS costs milliseconds of thread hand-offs on busy cores."""
        faiss = _faiss()
        pca = faiss.downcast_VectorTransform(self.index.chain.at(0))
        self._pca_a = faiss.vector_to_array(pca.A).reshape(pca.d_out, pca.d_in).astype(np.float32)
        self._pca_b = faiss.vector_to_array(pca.b).astype(np.float32)
        self._ivf = faiss.extract_index_ivf(self.index)
        self._ivf.nprobe = NPROBE

    # -- building, saving, loading ---------------------------------------------------
    @classmethod
    def build(cls, store, feature, seed=0):
        faiss = _faiss()
        view = store._view(feature)
        if view.feature.kind != schema.DENSE:
            raise StoreError(f"{feature} is sparse; the ANN index covers dense features (exact search serves sparse ones)")
        n, dim = view.rows, view.feature.dim
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(n, size=min(n, TRAIN_ROWS), replace=False))
        dims = min(DIMS, dim)
        pca = faiss.PCAMatrix(dim, dims)
        pca.train(_unit(view.gather(sample[rng.choice(len(sample), min(len(sample), PCA_ROWS), replace=False)])))
        nlist = int(max(16, min(8192, 2 * np.sqrt(n))))
        quantizer = faiss.IndexFlatL2(dims)
        ivf = faiss.IndexIVFScalarQuantizer(quantizer, dims, nlist, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_L2)
        reduced = np.concatenate([pca.apply(_unit(view.gather(sample[a:a + BLOCK_ROWS])))
                                  for a in range(0, len(sample), BLOCK_ROWS)])
        ivf.train(reduced)
        del reduced
        index = faiss.IndexPreTransform(pca, ivf)
        for seg, rows, hashes, _ in _live_rows(view):
            for a in range(0, len(rows), BLOCK_ROWS):
                index.add_with_ids(_unit(seg.take_dense(rows[a:a + BLOCK_ROWS])), hashes[a:a + BLOCK_ROWS].view(np.int64))
        return cls(store, feature, index, store.version)

    @classmethod
    def load_or_build(cls, store, feature):
        """The saved index when it is this feature's, brought up to date; otherwise a new one (saved)."""
        path = index_path(store, feature)
        loaded = cls.load(store, feature, path) if os.path.exists(path) else None
        if loaded is None:
            loaded = cls.build(store, feature)
            loaded.save(path)
        elif loaded.version != store.version:
            loaded.update(store)
        return loaded

    @classmethod
    def load(cls, store, feature, path):
        """The index saved at ``path``, or None when it is for another feature, encoder or format."""
        faiss = _faiss()
        try:
            with h5py.File(path, "r") as f:
                if (f.attrs.get("format") != FORMAT or int(f.attrs.get("format_version", -1)) != FORMAT_VERSION
                        or f.attrs.get("feature") != feature
                        or f.attrs.get("provenance_sha256") != str(store.provenance(feature).get("sha256"))
                        or f.attrs.get("store_created_at") != store._manifest.created_at
                        or int(f.attrs["store_version"]) > store.version):
                    return None
                index = faiss.deserialize_index(f["faiss"][()])
                return cls(store, feature, index, int(f.attrs["store_version"]), int(f.attrs.get("garbage", 0)))
        except (OSError, KeyError, ValueError, RuntimeError):
            return None          # unreadable or foreign: rebuilt by the caller

    def save(self, path=None):
        """Write atomically beside the store; a read-only location just keeps the index in memory."""
        path = path or index_path(self.store, self.feature)
        tmp = atomic.temp_path(path)
        try:
            with h5py.File(tmp, "w") as f:
                f.attrs.update(format=FORMAT, format_version=FORMAT_VERSION, feature=self.feature,
                               provenance_sha256=str(self.store.provenance(self.feature).get("sha256")),
                               store_version=self.version, store_created_at=self.store._manifest.created_at,
                               garbage=self.garbage, dims=DIMS, nprobe=NPROBE,
                               created_at=now(), package_version=PACKAGE_VERSION, faiss_version=_faiss().__version__)
                f.create_dataset("faiss", data=_faiss().serialize_index(self.index))
            atomic.commit(tmp, path)
        except OSError:
            atomic.remove_quietly(tmp)

    def update(self, store):
        """Catch up with ``store``'s version: re-add rows written since, rebuild when garbage piles up."""
        self.store = store
        view = store._view(self.feature)
        fresh = [(seg, rows[v > self.version], h[v > self.version]) for seg, rows, h, v in _live_rows(view)]
        added = sum(len(r) for _, r, _ in fresh)
        if self.garbage + added > REBUILD_GARBAGE * max(view.rows, 1) or self.index.ntotal - view.rows > REBUILD_GARBAGE * view.rows:
            rebuilt = SimilarIndex.build(store, self.feature)
            self.index, self.garbage = rebuilt.index, 0
            self._split()
        else:
            for seg, rows, hashes in fresh:
                if len(rows):
                    ids = hashes.view(np.int64)
                    self.garbage += int(self.index.remove_ids(ids))
                    for a in range(0, len(rows), BLOCK_ROWS):
                        self.index.add_with_ids(_unit(seg.take_dense(rows[a:a + BLOCK_ROWS])), ids[a:a + BLOCK_ROWS])
        self.version = store.version
        self._map_hashes()
        self.save()

    def _map_hashes(self):
        """id hash -> live position in the store version this index serves."""
        view = self.store._view(self.feature)
        hashes, positions = [], []
        for k, (seg, rows, h, _) in enumerate(_live_rows(view)):
            hashes.append(h)
            positions.append(view.starts[k] + np.arange(len(rows)))
        hashes = np.concatenate(hashes) if hashes else np.empty(0, np.uint64)
        order = np.argsort(hashes, kind="stable")
        self._hashes, self._positions = hashes[order], np.concatenate(positions)[order] if positions else hashes

    # -- queries -----------------------------------------------------------------------
    def __contains__(self, movie_id):
        return movie_id in self.store._view(self.feature).index()

    def nearest(self, movie_id, k=10):
        """[(id, cosine similarity)] of the k movies most similar to a stored one, best first."""
        view = self.store._view(self.feature)
        position = view.positions([movie_id])
        return self._search(view.gather(position)[0], k, exclude=int(position[0]))

    def nearest_vector(self, vector, k=10):
        """[(id, cosine similarity)] of the k stored rows most similar to ``vector``."""
        return self._search(np.asarray(vector, np.float32).ravel(), k)

    def _search(self, vector, k, exclude=None):
        view = self.store._view(self.feature)
        q = _unit(vector[None, :])
        _, labels = self._ivf.search(q @ self._pca_a.T + self._pca_b, max(CANDIDATES, 4 * k))
        labels = labels[0][labels[0] != -1].view(np.uint64)
        if not len(self._hashes):
            return []
        at = np.minimum(np.searchsorted(self._hashes, labels), len(self._hashes) - 1)
        candidates = np.unique(self._positions[at[self._hashes[at] == labels]])  # rows no longer live drop out
        if exclude is not None:
            candidates = candidates[candidates != exclude]
        if not len(candidates):
            return []
        rows = view.gather(candidates)
        sims = (rows @ q[0]) / np.maximum(np.sqrt(np.einsum("ij,ij->i", rows, rows)), 1e-12)
        top = np.argsort(-sims, kind="stable")[:k]
        ids = view.ids()
        return [(ids[candidates[j]], float(sims[j])) for j in top]
