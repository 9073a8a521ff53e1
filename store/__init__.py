"""onesheet's feature store: one HDF5 file of movies, labels and features keyed by movie id.

Importing this package never imports torch or onnxruntime.
"""

from .errors import (
    CatalogError, FeatureShapeError, NotAStoreError, OnesheetError, ProvenanceError, ReadOnlyError,
    SchemaVersionError, StoreError, StoreLockedError, UnknownFeatureError, UnknownIdsError,
)
from .genres import TMDB_GENRES, GenreVocabulary
from .h5 import FeatureStore
from .schema import SCHEMA_VERSION

__all__ = [
    "FeatureStore", "GenreVocabulary", "TMDB_GENRES", "SCHEMA_VERSION",
    "OnesheetError", "StoreError", "NotAStoreError", "SchemaVersionError", "StoreLockedError", "ReadOnlyError",
    "UnknownFeatureError", "UnknownIdsError", "ProvenanceError", "FeatureShapeError", "CatalogError",
]
