"""Named errors: the project's root error, and the feature store's; each message says what to do."""


class OnesheetError(Exception):
    """Root of every onesheet failure a user can act on (the CLI prints it as one line, exit 1)."""


class StoreError(OnesheetError):
    """Base class of the feature store's failures."""


class NotAStoreError(StoreError):
    """The file is missing, not HDF5, or not a onesheet store."""


class SchemaVersionError(StoreError):
    """The store was written with a schema this version of onesheet cannot read."""


class MigrationNeededError(SchemaVersionError):
    """An older store that can still be read but must be migrated before anything is written."""


class CorruptStoreError(StoreError):
    """The store's files are inconsistent (a missing or damaged piece, misaligned columns, bad metadata)."""

    def __init__(self, message, problem=None):
        super().__init__(message)
        self.problem = problem or message   # the short form `onesheet store verify` lists


class DiskFullError(StoreError):
    """A commit ran out of disk space; the previous version is intact and nothing was left behind."""


class StoreLockedError(StoreError):
    """Another process is writing to the store."""


class ReadOnlyError(StoreError):
    """A write was attempted on a store opened with mode='r'."""


class UnknownFeatureError(StoreError, KeyError):
    """A feature name that the store does not hold."""

    def __str__(self):  # KeyError would repr() the message
        return self.args[0]


class UnknownIdsError(StoreError, KeyError):
    """Some of the asked ids are not in the store (or not in that feature)."""

    def __init__(self, message, ids):
        super().__init__(message)
        self.ids = list(ids)

    def __str__(self):
        return self.args[0]


class ProvenanceError(StoreError):
    """Feature provenance is missing or differs from what is already stored."""


class FeatureShapeError(StoreError):
    """A written matrix does not match its ids or the stored feature's width."""


class CatalogError(StoreError):
    """The catalog cannot be read at all (not a CSV, no id column, no rows)."""
