"""The master file: what one version of a store is made of, read from and written to HDF5.

A ``Manifest`` names the movie-table piece, and for each feature its segment pieces (with
the rows later commits superseded) and its artifact piece. Reading it never follows the
master's virtual datasets or external links: those exist for plain h5py users only.
"""

import dataclasses
import time

import h5py
import numpy as np
from h5py import h5d, h5p, h5s, h5t

from . import schema
from .errors import CorruptStoreError, NotAStoreError, SchemaVersionError
from .version import PACKAGE_VERSION

STR = h5py.string_dtype("utf-8")


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclasses.dataclass(frozen=True)
class PieceRef:
    """One immutable file of the store. ``file`` "" means the master itself (schema v1)."""
    file: str
    size: int = 0
    sha256: str = ""
    group: str = "/"          # where the piece's content sits inside the file


@dataclasses.dataclass
class Segment:
    piece: PieceRef
    rows: int
    deleted: np.ndarray       # sorted local rows superseded by later commits (int64)

    @property
    def live(self) -> int:
        return self.rows - len(self.deleted)

    def live_rows(self):
        """Local row numbers still live, or None when all are (the common case)."""
        if not len(self.deleted):
            return None
        keep = np.ones(self.rows, bool)
        keep[self.deleted] = False
        return np.flatnonzero(keep)

    def runs(self):
        """(start, stop) pairs of consecutive live rows."""
        bounds = np.concatenate([[-1], self.deleted, [self.rows]])
        return [(int(a) + 1, int(b)) for a, b in zip(bounds[:-1], bounds[1:]) if b > a + 1]


@dataclasses.dataclass
class Feature:
    name: str
    kind: str
    dim: int
    provenance_json: str
    updated_at: str
    segments: list
    artifacts: PieceRef = None

    @property
    def rows(self) -> int:
        return sum(s.live for s in self.segments)

    def copy(self):
        return dataclasses.replace(self, segments=list(self.segments))


@dataclasses.dataclass
class Manifest:
    schema_version: int
    version: int
    created_at: str
    package_version: str
    table: PieceRef
    table_rows: int
    features: dict
    committed_at: str = ""

    def copy(self):
        return dataclasses.replace(self, features={k: f.copy() for k, f in self.features.items()})

    def piece_files(self) -> set:
        files = {self.table.file}
        for f in self.features.values():
            files.update(s.piece.file for s in f.segments)
            if f.artifacts is not None:
                files.add(f.artifacts.file)
        files.discard("")
        return files


def _damaged(path, problem):
    return CorruptStoreError(
        f"{path} is damaged: {problem}; run `onesheet store verify {path}` for the whole list, then restore "
        f"a backup or move it aside and rebuild it with `onesheet featurize CATALOG.csv --store {path}`",
        f"{path}: {problem}")


def schema_version_of(f, path) -> int:
    """The store's schema version, refusing files that are not stores or not readable ones."""
    if f.attrs.get("format") != schema.FORMAT:
        raise NotAStoreError(f"{path} is an HDF5 file but not a onesheet store; create one with `onesheet ingest`")
    raw = f.attrs.get("schema_version", None)
    try:
        version = int(raw)
    except (TypeError, ValueError):
        raise _damaged(path, f"its schema_version attribute is {raw!r}, not a number") from None
    if version in schema.READABLE_VERSIONS:
        return version
    if version > schema.SCHEMA_VERSION:
        raise SchemaVersionError(
            f"{path} has store schema v{version}, newer than this onesheet ({PACKAGE_VERSION}, "
            f"schema v{schema.SCHEMA_VERSION}) reads; upgrade onesheet (pip install -U onesheet)")
    raise SchemaVersionError(
        f"{path} has store schema v{version}, which this onesheet no longer reads; rebuild it "
        f"with `onesheet featurize CATALOG.csv --store {path}`")


def _feature_groups(f):
    found = []
    if schema.FEATURES in f:
        def visit(name, obj):
            if isinstance(obj, h5py.Group) and "kind" in obj.attrs:
                found.append((name, obj))
        f[schema.FEATURES].visititems(visit)
    return sorted(found, key=lambda x: x[0])


def read_manifest(f, path) -> Manifest:
    """Parse an open master (v2) or single-file store (v1); damage raises CorruptStoreError."""
    version = schema_version_of(f, path)
    try:
        if version == 1:
            return _read_v1(f)
        return _read_v2(f, path)
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise _damaged(path, f"its master file is unreadable ({exc.__class__.__name__}: {exc})") from None


def _read_v1(f) -> Manifest:
    features = {}
    for name, g in _feature_groups(f):
        kind = str(g.attrs["kind"])
        rows = int(g["ids"].shape[0]) if "ids" in g else 0
        dim = int(g["matrix"].shape[1]) if kind == schema.DENSE and "matrix" in g else int(g.attrs.get("shape", [0, 0])[1])
        features[name] = Feature(name, kind, dim, str(g.attrs.get("provenance", "")), str(g.attrs.get("updated_at", "")),
                                 [Segment(PieceRef("", group=g.name), rows, np.empty(0, np.int64))],
                                 PieceRef("", group=g.name) if "artifacts" in g else None)
    rows = int(f[schema.MOVIES]["id"].shape[0]) if schema.MOVIES in f and "id" in f[schema.MOVIES] else 0
    return Manifest(1, 0, str(f.attrs.get("created_at", "")), str(f.attrs.get("package_version", "")),
                    PieceRef(""), rows, features)


def _piece(attrs, prefix="") -> PieceRef:
    return PieceRef(str(attrs[prefix + "file"]), int(attrs[prefix + "size"]), str(attrs[prefix + "sha256"]))


def _read_v2(f, path) -> Manifest:
    table = f[schema.TABLE]
    features = {}
    for name, g in _feature_groups(f):
        s = g["segments"]
        files, rows, sizes, shas = (list(s["file"].asstr()[()]), s["rows"][()], s["size"][()],
                                    list(s["sha256"].asstr()[()]))
        deleted, offsets = s["deleted"][()].astype(np.int64), s["deleted_offsets"][()]
        if not (len(files) == len(rows) == len(sizes) == len(shas) == len(offsets) - 1):
            raise _damaged(path, f"feature {name}'s segment list has columns of different lengths")
        segments = [Segment(PieceRef(files[k], int(sizes[k]), shas[k]), int(rows[k]),
                            deleted[offsets[k]:offsets[k + 1]]) for k in range(len(files))]
        artifacts = _piece(g.attrs, "artifacts_") if "artifacts_file" in g.attrs else None
        features[name] = Feature(name, str(g.attrs["kind"]), int(g.attrs["dim"]), str(g.attrs.get("provenance", "")),
                                 str(g.attrs.get("updated_at", "")), segments, artifacts)
    return Manifest(2, int(f.attrs["version"]), str(f.attrs.get("created_at", "")),
                    str(f.attrs.get("package_version", "")), _piece(table.attrs), int(table.attrs["rows"]), features,
                    str(f.attrs.get("committed_at", "")))


# -- writing ---------------------------------------------------------------------

def _set_piece(attrs, piece, prefix=""):
    attrs[prefix + "file"], attrs[prefix + "size"], attrs[prefix + "sha256"] = piece.file, piece.size, piece.sha256


def _virtual(group, name, dtype, tail, sources, total):
    """A virtual dataset of ``total`` rows: each source's live runs, one mapping per segment.

    ``sources``: (file relative to the master's folder, dataset path, rows, runs). A source
    selection is the union of its runs, so superseded rows cost a hyperslab block, not a
    mapping of their own.
    """
    dcpl = h5p.create(h5p.DATASET_CREATE)
    zeros = (0,) * len(tail)
    ones = (1,) * (len(tail) + 1)
    offset = 0
    for file, dset, rows, runs in sources:
        src = h5s.create_simple((rows,) + tail)
        src.select_none()
        live = 0
        for a, b in runs:
            src.select_hyperslab((a,) + zeros, ones, block=(b - a,) + tail, op=h5s.SELECT_OR)
            live += b - a
        dst = h5s.create_simple((total,) + tail)
        dst.select_hyperslab((offset,) + zeros, ones, block=(live,) + tail)
        dcpl.set_virtual(dst, file.encode(), dset.encode(), src)
        offset += live
    tid = h5t.py_create(np.dtype(dtype), logical=True)
    h5d.create(group.id, name.encode(), tid, h5s.create_simple((total,) + tail), dcpl=dcpl)


def write_master(path, manifest: Manifest, pieces_dir: str) -> None:
    """Write ``manifest`` as a master file at ``path`` (a temporary name; the caller commits it)."""
    rel = pieces_dir + "/"
    with h5py.File(path, "w") as f:
        f.attrs.update(format=schema.FORMAT, schema_version=schema.SCHEMA_VERSION, version=manifest.version,
                       created_at=manifest.created_at, committed_at=now(), package_version=PACKAGE_VERSION,
                       pieces_dir=pieces_dir)
        table = f.create_group(schema.TABLE)
        _set_piece(table.attrs, manifest.table)
        table.attrs["rows"] = manifest.table_rows
        for link in schema.TABLE_LINKS:
            f[link] = h5py.ExternalLink(rel + manifest.table.file, "/" + link)
        features = f.create_group(schema.FEATURES)
        for name in sorted(manifest.features):
            _write_feature(features.create_group(name), manifest.features[name], rel)


def _write_feature(g, feat: Feature, rel):
    g.attrs.update(kind=feat.kind, source=feat.name.split("/")[0], dim=feat.dim, rows=feat.rows,
                   provenance=feat.provenance_json, updated_at=feat.updated_at)
    segs = feat.segments
    s = g.create_group("segments")
    s["file"] = np.array([x.piece.file for x in segs], dtype=STR)
    s["rows"] = np.array([x.rows for x in segs], dtype=np.int64)
    s["size"] = np.array([x.piece.size for x in segs], dtype=np.int64)
    s["sha256"] = np.array([x.piece.sha256 for x in segs], dtype=STR)
    s["deleted"] = np.concatenate([x.deleted for x in segs] + [np.empty(0, np.int64)]).astype(np.int64)
    s["deleted_offsets"] = np.concatenate([[0], np.cumsum([len(x.deleted) for x in segs])]).astype(np.int64)
    runs = [x.runs() for x in segs]
    _virtual(g, "ids", STR, (), [(rel + x.piece.file, "ids", x.rows, r) for x, r in zip(segs, runs)], feat.rows)
    if feat.kind == schema.DENSE:
        _virtual(g, "matrix", np.float32, (feat.dim,),
                 [(rel + x.piece.file, "matrix", x.rows, r) for x, r in zip(segs, runs)], feat.rows)
    else:
        parts = g.create_group("parts")
        for k, x in enumerate(segs):
            parts[f"{k:05d}"] = h5py.ExternalLink(rel + x.piece.file, "/")
    if feat.artifacts is not None:
        _set_piece(g.attrs, feat.artifacts, "artifacts_")
        g["artifacts"] = h5py.ExternalLink(rel + feat.artifacts.file, "/artifacts")
