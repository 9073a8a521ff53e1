"""Cosine nearest neighbours over one stored feature (exact, in memory, built on first use)."""

import numpy as np
import scipy.sparse as sp


class CosineIndex:
    """Row-normalised copy of a feature; ``nearest`` answers with a matrix-vector product."""

    def __init__(self, ids, matrix):
        self.ids = list(ids)
        self._row = {m: i for i, m in enumerate(self.ids)}
        if sp.issparse(matrix):
            norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
            self.matrix = sp.diags(1 / np.maximum(norms, 1e-12)) @ matrix.tocsr()
        else:
            m = np.asarray(matrix, dtype=np.float32)
            self.matrix = m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)

    @classmethod
    def from_store(cls, store, feature):
        return cls(*store.matrix(feature))

    def __contains__(self, movie_id):
        return movie_id in self._row

    def nearest(self, movie_id, k=10):
        """[(id, cosine similarity)] of the k most similar other movies, best first."""
        i = self._row[movie_id]
        q = self.matrix[i]
        sims = self.matrix @ (q.T if sp.issparse(q) else q)
        sims = np.asarray(sims.todense() if sp.issparse(sims) else sims).ravel()
        sims[i] = -np.inf
        k = max(0, min(k, len(sims) - 1))
        top = np.argpartition(-sims, k - 1)[:k] if k else np.array([], dtype=int)
        top = top[np.argsort(-sims[top], kind="stable")]
        return [(self.ids[j], float(sims[j])) for j in top]
