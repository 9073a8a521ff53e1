"""onesheet's feature store: HDF5 files of movies, labels and features keyed by movie id.

Importing this package never imports torch or onnxruntime.
"""

from .errors import (
    CatalogError, CorruptStoreError, DiskFullError, FeatureShapeError, MigrationNeededError, NotAStoreError,
    OnesheetError, ProvenanceError, ReadOnlyError, SchemaVersionError, StoreError, StoreLockedError,
    UnknownFeatureError, UnknownIdsError,
)
from .genres import TMDB_GENRES, GenreVocabulary
from .h5 import FeatureStore
from .schema import SCHEMA_VERSION

__all__ = [
    "FeatureStore", "GenreVocabulary", "TMDB_GENRES", "SCHEMA_VERSION",
    "OnesheetError", "StoreError", "NotAStoreError", "SchemaVersionError", "StoreLockedError", "ReadOnlyError",
    "UnknownFeatureError", "UnknownIdsError", "ProvenanceError", "FeatureShapeError", "CatalogError",
    "CorruptStoreError", "DiskFullError", "MigrationNeededError",
]
