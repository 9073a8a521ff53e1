"""Feature specs ("a+b+c") -> matrices from the store, and the block scaler that fuses them.

Fusing a 1,280-d standardised poster embedding with a 13,000-column tf-idf matrix needs
care: left alone, the dense block's scale swamps the sparse one. BlockScaler standardises
each dense block and divides it by sqrt(width), so every block contributes a row of about
unit norm, as the l2-normalised tf-idf rows already do.
"""

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from ..errors import ClassifierError


def parse_spec(spec):
    names = [s.strip() for s in str(spec).split("+") if s.strip()]
    if not names:
        raise ClassifierError(f"empty feature spec {spec!r}; use e.g. poster/efficientnet-lite0+overview/tfidf")
    return names


def spec_tag(spec):
    """A file-name-safe tag for a feature spec."""
    return "+".join(n.replace("/", "-") for n in parse_spec(spec))


def ids_with_features(store, spec):
    """Movie ids (store order) that hold every feature of the spec."""
    names = parse_spec(spec)
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
    """(X, widths, kinds) for ids, blocks in spec order."""
    blocks = [store.lookup(ids, feature=n) for n in parse_spec(spec)]
    return stack_blocks(blocks), [b.shape[1] for b in blocks], ["sparse" if sp.issparse(b) else "dense" for b in blocks]


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
        self.n_features_in_ = X.shape[1]
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
