"""The on-disk layout of a onesheet feature store, and the rule for changing it.

Layout, schema v2 (append-only). ``STORE.h5`` is a small *master* file, replaced atomically
on every commit; everything else lives in immutable *pieces* in the folder ``STORE.h5.d/``
beside it, each written once, fsynced, and deleted only when no master references it::

    STORE.h5                master: what the current version is made of
      /                     attrs: format, schema_version (2), version (monotonic int),
                            created_at, committed_at, package_version, pieces_dir
      /table                attrs: file, size, sha256, rows  (the movie-table piece)
      /movies  /labels  /reports
                            external links into the table piece (plain h5py follows them)
      /features/<source>/<name>/    one group per feature, e.g. features/poster/efficientnet-lite0
          attrs: kind ("dense" | "sparse"), source, dim, rows (live), provenance (JSON),
                 updated_at, artifacts_file/_size/_sha256 (when the encoder stored artifacts)
          segments/{file, rows, size, sha256}  one entry per segment piece, oldest first
          segments/{deleted, deleted_offsets}  superseded rows of each segment (CSR-style:
                 segment k's are deleted[deleted_offsets[k]:deleted_offsets[k+1]])
          ids        virtual dataset (str): the live rows' movie ids, segment order
          matrix     dense only: virtual dataset float32 (rows, dim) of the live rows
          parts/NNNNN   sparse only: external link to segment NNNNN's root group
          artifacts     external link to the artifact piece's /artifacts group

    STORE.h5.d/movies-<token>.h5   the movie table (rewritten by ingest only)
      /movies/{id,title,overview,poster,poster_sha256}   utf-8 str (n)
      /movies/{year,decade}         int16 (n), -1 when unknown
      /movies/id_hash               uint64 (n) 64-bit hash of each id (see store.idhash)
      /movies/id_hash_sorted        uint64 (n) the same, sorted
      /movies/id_hash_order         uint32 (n) the row of each sorted hash
      /movies/id_hash_fences        uint64 every 512th sorted hash (what a search keeps in memory)
      /labels/multi_hot             uint8 (n, genres), attr genres
      /reports/ingest               str, one JSON validation summary per ingest
    STORE.h5.d/seg-<token>.h5      one segment: rows of one feature written by one commit
                                   (or merged by compaction)
      attrs: format, feature, kind, rows, dim, created_at, package_version
      /ids, /id_hash, /id_hash_sorted, /id_hash_order, /id_hash_fences, /written_version
                                   (uint32: the commit that wrote each row)
      dense: /matrix float32 (rows, dim), contiguous, uncompressed (memory-mapped)
      sparse: /data float32, /indices int32, /indptr int64; attr shape
    STORE.h5.d/art-<token>.h5      /artifacts/*: what rebuilds an encoder (vocabulary, idf)
    STORE.h5.d/ann-<feature>.h5    not a piece: a similar-movie index (store.ann), own format

Schema v1 (still read, written no more) was one HDF5 file holding all of it: /movies,
/labels/multi_hot, /reports/ingest and /features/<name>/{ids, matrix | data, indices, indptr}.

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
SCHEMA_VERSION = 2
READABLE_VERSIONS = frozenset({1, 2})
WRITABLE_VERSIONS = frozenset({2})

MOVIES = "movies"
LABELS = "labels/multi_hot"
FEATURES = "features"
INGEST_REPORTS = "reports/ingest"
TABLE = "table"                       # master group whose attrs name the table piece
TABLE_LINKS = ("movies", "labels", "reports")

SEGMENT_FORMAT = "onesheet-segment"
TABLE_FORMAT = "onesheet-table"
ARTIFACTS_FORMAT = "onesheet-artifacts"
PIECE_PREFIXES = ("seg-", "movies-", "art-")

MOVIE_COLUMNS = ("id", "title", "year", "decade", "overview", "poster", "poster_sha256")
TEXT_COLUMNS = ("id", "title", "overview", "poster", "poster_sha256")
INT_COLUMNS = ("year", "decade")
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


def pieces_dir_name(master_name: str) -> str:
    """The folder of immutable pieces beside a master file (``STORE.h5`` -> ``STORE.h5.d``)."""
    return master_name + ".d"


def decade_of(year: int) -> int:
    """The decade a year falls in (1966 -> 1960), or UNKNOWN_YEAR."""
    return UNKNOWN_YEAR if year == UNKNOWN_YEAR else (year // 10) * 10
