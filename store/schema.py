"""The on-disk layout of a onesheet feature store, and the rule for changing it.

Layout (one HDF5 file)::

    /                       attrs: format, schema_version, created_at, package_version
    /movies/id              str    movie id, unique, kept as text
    /movies/title           str
    /movies/year            int16  release year, -1 when unknown
    /movies/decade          int16  year // 10 * 10, -1 when unknown
    /movies/overview        str
    /movies/poster          str    absolute poster path ("" when none)
    /movies/poster_sha256   str    sha256 of the poster bytes at ingest ("" when none)
    /labels/multi_hot       uint8  (n_movies, n_genres), rows aligned with /movies/id
                                   attrs: genres (the vocabulary, in column order)
    /features/<source>/<name>     a group per feature, e.g. features/poster/efficientnet-lite0
        attrs: kind ("dense" | "sparse"), source, provenance (JSON), updated_at
        ids        str     row order of this feature (a feature may cover a subset of movies)
        dense:  matrix   float32 (n_rows, dim), contiguous, uncompressed
        sparse: data float32, indices int32, indptr int64; attrs shape
    /reports/ingest         str    one JSON validation summary per ingest, oldest first

Rule for schema changes (keep it):

1. Any change a reader of the previous version would misread bumps ``SCHEMA_VERSION``.
   Adding an optional attribute or dataset that old readers ignore does not.
2. Readers open any version in ``READABLE_VERSIONS``; a newer version is refused with
   ``SchemaVersionError`` telling the user to upgrade onesheet, an older one not in the
   set is refused with the command that rebuilds the store.
3. When bumping, keep a reader for the old version (or a migration in ``store/migrate.py``)
   and a test that opens a store written by the old layout.
"""

FORMAT = "onesheet-feature-store"
SCHEMA_VERSION = 1
READABLE_VERSIONS = frozenset({1})

MOVIES = "movies"
LABELS = "labels/multi_hot"
FEATURES = "features"
INGEST_REPORTS = "reports/ingest"

MOVIE_COLUMNS = ("id", "title", "year", "decade", "overview", "poster", "poster_sha256")
UNKNOWN_YEAR = -1

DENSE = "dense"
SPARSE = "sparse"

# Provenance keys every feature must carry; the store adds schema_version,
# package_version and created_at itself.
REQUIRED_PROVENANCE = ("encoder", "sha256", "preprocessing")
# The keys that define what a feature *is*: rows written under different values
# would not be comparable, so they can never share one feature name.
IDENTITY_PROVENANCE = ("encoder", "sha256", "preprocessing")

MIN_YEAR = 1870
MAX_YEAR = 2100


def decade_of(year: int) -> int:
    """The decade a year falls in (1966 -> 1960), or UNKNOWN_YEAR."""
    return UNKNOWN_YEAR if year == UNKNOWN_YEAR else (year // 10) * 10
