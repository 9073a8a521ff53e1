"""`onesheet store migrate`: convert a schema v1 store (one HDF5 file) to schema v2, atomically.

The v1 file is read through the v1 reader (``manifest._read_v1``), its movie table and
every feature are copied into new pieces (streamed, flat memory), and a v2 master is
swapped in over the old file with one ``os.replace``. A migration that is interrupted or
fails leaves the v1 file untouched; its half-written pieces are removed at once, or by
the next migration or writer if the process was killed.
"""

import os

import numpy as np

from . import atomic, schema
from .compaction import copy_live_rows
from .h5 import FeatureStore
from .manifest import Feature, Manifest, Segment, write_master
from .pieces import PieceWriter
from .version import PACKAGE_VERSION
from .writing import artifacts_hash, collect_garbage

MIGRATED_VERSION = 1


def migrate(path, progress=None) -> dict:
    """Convert the store at ``path`` to the current schema; returns what was done."""
    path = atomic.resolve(path)
    lock = atomic.WriterLock(path)
    lock.acquire()
    try:
        atomic.remove_stale_temps(path)
        with FeatureStore(path, "r") as old:
            if old.schema_version == schema.SCHEMA_VERSION:
                return {"path": path, "from": old.schema_version, "to": old.schema_version, "migrated": False}
            folder = old.folder
            os.makedirs(folder, exist_ok=True)
            collect_garbage(folder, set())     # pieces of an earlier, interrupted migration
            writer, tmp = PieceWriter(folder), atomic.temp_path(path)
            try:
                manifest = _copy(old, writer, progress)
                writer.sync()
                write_master(tmp, manifest, os.path.basename(folder))
                atomic.commit(tmp, path)
                writer.forget()
            except BaseException as exc:
                writer.rollback()
                atomic.remove_quietly(tmp)
                if atomic.is_disk_full(exc):
                    raise atomic.disk_full_error(folder, f"migrating {path}") from None
                raise
            return {"path": path, "from": old.schema_version, "to": schema.SCHEMA_VERSION, "migrated": True,
                    "movies": len(old), "features": old.features()}
    finally:
        lock.release()


def _copy(old, writer, progress) -> Manifest:
    table = old._tbl()
    labels = table.labels()
    table_ref = writer.table(old.movies(), labels, table.genres(), table.reports())
    features = {}
    for name in old.features():
        view = old._view(name)
        feat = view.feature
        ref, rows = copy_live_rows(writer, old, feat, view.segments, MIGRATED_VERSION, progress)
        artifacts = old.artifacts(name)
        art_ref = writer.artifacts(artifacts, artifacts_hash(artifacts)) if artifacts else None
        features[name] = Feature(name, feat.kind, feat.dim, feat.provenance_json, feat.updated_at,
                                 [Segment(ref, rows, np.empty(0, np.int64))], art_ref)
    m = old._manifest
    return Manifest(schema.SCHEMA_VERSION, MIGRATED_VERSION, m.created_at or "", PACKAGE_VERSION, table_ref,
                    len(old), features)
