"""Feature specs -> matrices from the store, and the block scaler that fuses them.

Fusing a 1,280-d standardised poster embedding with a 13,000-column tf-idf matrix needs
care: left alone, the dense block's scale swamps the sparse one. BlockScaler standardises
each dense block and divides it by sqrt(width), so every block contributes a row of about
unit norm, as the l2-normalised tf-idf rows already do.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

from ..errors import ClassifierError
from .spec import FeatureSpec


def ids_with_features(store, spec):
    """Movie ids (store order) that hold every feature of the spec."""
    names = FeatureSpec.parse(spec).names
    missing = [n for n in names if n not in store.features()]
    if missing:
        raise ClassifierError(f"the store has no feature {', '.join(missing)}; run onesheet featurize first "
                              f"(features: {', '.join(store.features()) or 'none'})")
    have = set(store.feature_ids(names[0]))
    for n in names[1:]:
        have &= set(store.feature_ids(n))
    return [m for m in store.ids() if m in have]


def stack_blocks(blocks):
    """Concatenate per-feature matrices: dense stays dense, anything sparse makes CSR."""
    if len(blocks) == 1:
        return blocks[0]
    if any(sp.issparse(b) for b in blocks):
        return sp.hstack([sp.csr_matrix(b) for b in blocks], format="csr")
    return np.hstack(blocks)


def load_blocks(store, spec, ids):
    """(X, spec with its block widths and kinds) for ids, blocks in spec order."""
    spec = FeatureSpec.parse(spec)
    blocks = [store.lookup(ids, feature=n) for n in spec.names]
    return stack_blocks(blocks), spec.with_layout([b.shape[1] for b in blocks],
                                                  ["sparse" if sp.issparse(b) else "dense" for b in blocks])


class BlockScaler(TransformerMixin, BaseEstimator):
    """Standardise dense column blocks (and scale them to unit row norm); pass sparse blocks through.

    ``weights`` (one per block, default 1) then scales each block: how much a fused model
    listens to the poster relative to the overview (chosen on validation by fit).
    """

    def __init__(self, widths=None, kinds=None, weights=None):
        self.widths = widths
        self.kinds = kinds
        self.weights = weights

    def _blocks(self, X):
        widths = self.widths or [X.shape[1]]
        kinds = self.kinds or ["sparse" if sp.issparse(X) else "dense"]
        edges = np.cumsum([0] + list(widths))
        if edges[-1] != X.shape[1]:
            raise ValueError(f"blocks cover {edges[-1]} columns, X has {X.shape[1]}")
        return [(edges[i], edges[i + 1], kinds[i]) for i in range(len(widths))]

    def fit(self, X, y=None):
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32])
        self.scalers_ = []
        for a, b, kind in self._blocks(X):
            if kind == "dense":
                block = X[:, a:b]
                block = block.toarray() if sp.issparse(block) else block
                self.scalers_.append(StandardScaler().fit(block))
            else:
                self.scalers_.append(None)
        return self

    def transform(self, X):
        check_is_fitted(self, "scalers_")
        X = validate_data(self, X, reset=False, accept_sparse=["csr", "csc"], dtype=[np.float64, np.float32])
        out = []
        blocks = self._blocks(X)
        weights = self.weights or [1.0] * len(blocks)
        for (a, b, kind), scaler, weight in zip(blocks, self.scalers_, weights):
            block = X[:, a:b]
            if scaler is not None:
                block = block.toarray() if sp.issparse(block) else block
                block = (scaler.transform(block) * (weight / np.sqrt(b - a))).astype(np.float32)
            elif weight != 1.0:
                block = block * weight
            out.append(block)
        return stack_blocks(out)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.transformer_tags.preserves_dtype = ["float32"]  # dense blocks come out float32 by design
        return tags
