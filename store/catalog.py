"""Read a movies CSV into validated rows plus a report of every row it had to fix or skip.

Nothing here raises for a bad *row*: a catalog of thousands is ingested even when a few
rows are broken, and the report says which rows and why. Only a file that cannot be a
catalog at all (missing, no header, no id column) raises CatalogError.
"""

import csv
import io
import os
from dataclasses import dataclass, field

from .errors import CatalogError
from .genres import GenreVocabulary
from .schema import MAX_YEAR, MIN_YEAR, UNKNOWN_YEAR, decade_of

ID_COLUMNS = ("id", "movie_key", "tmdb_id")

# Problems that make a row unusable: it is skipped. Everything else is a warning
# and the row is kept (with the offending field blanked).
FATAL = frozenset({"malformed_row", "missing_id", "duplicate_id"})


@dataclass(frozen=True)
class CatalogRow:
    id: str
    title: str
    year: int
    genres: tuple
    overview: str
    poster: str  # absolute path, "" when the catalog gives none or the file is missing

    @property
    def decade(self) -> int:
        return decade_of(self.year)


@dataclass(frozen=True)
class Problem:
    line: int
    id: str
    kind: str
    detail: str

    @property
    def fatal(self) -> bool:
        return self.kind in FATAL


@dataclass
class ValidationReport:
    catalog: str
    rows_read: int = 0
    rows_kept: int = 0
    problems: list = field(default_factory=list)

    def add(self, line, movie_id, kind, detail):
        self.problems.append(Problem(line, movie_id, kind, detail))

    def counts(self) -> dict:
        out = {}
        for p in self.problems:
            out[p.kind] = out.get(p.kind, 0) + 1
        return dict(sorted(out.items()))

    @property
    def rows_skipped(self) -> int:
        return self.rows_read - self.rows_kept

    def to_dict(self) -> dict:
        return {
            "catalog": self.catalog,
            "rows_read": self.rows_read,
            "rows_kept": self.rows_kept,
            "rows_skipped": self.rows_skipped,
            "counts": self.counts(),
            "problems": [
                {"line": p.line, "id": p.id, "kind": p.kind, "detail": p.detail, "fatal": p.fatal}
                for p in self.problems
            ],
        }


def _pick_id_column(header, id_column):
    lowered = {h.strip().lower(): i for i, h in enumerate(header)}
    if id_column is not None:
        if id_column.strip().lower() not in lowered:
            raise CatalogError(f"--id-column {id_column!r} is not in the catalog header {header}")
        return lowered[id_column.strip().lower()]
    for name in ID_COLUMNS:
        if name in lowered:
            return lowered[name]
    raise CatalogError(
        f"no id column: the header needs one of {', '.join(ID_COLUMNS)}, or pass --id-column"
    )


def _parse_year(text):
    """(year, problem kind or None)."""
    text = text.strip()
    if not text:
        return UNKNOWN_YEAR, "missing_year"
    try:
        year = int(float(text))
    except ValueError:
        return UNKNOWN_YEAR, "impossible_year"
    if not MIN_YEAR <= year <= MAX_YEAR:
        return UNKNOWN_YEAR, "impossible_year"
    return year, None


def _read_text(path):
    try:
        raw = open(path, "rb").read()
    except OSError as exc:
        raise CatalogError(f"cannot read catalog {path}: {exc.strerror}") from exc
    if b"\0" in raw[:4096] and raw.count(b"\0") > len(raw) // 100:
        raise CatalogError(f"{path} is a binary file, not a CSV catalog")
    return raw.replace(b"\0", b"").decode("utf-8-sig", errors="replace")


def read_catalog(path, vocabulary=None, id_column=None):
    """Parse and validate a catalog CSV: (rows kept, ValidationReport, id column name)."""
    path = os.path.abspath(path)
    vocabulary = vocabulary or GenreVocabulary()
    base = os.path.dirname(path)
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise CatalogError(f"{path} has no CSV header row") from exc
    id_idx = _pick_id_column(header, id_column)
    col = {h.strip().lower(): i for i, h in enumerate(header)}
    report = ValidationReport(catalog=path)
    rows, seen = [], set()
    line = 1
    while True:
        start = line + 1
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            line = reader.line_num
            report.rows_read += 1
            report.add(start, "", "malformed_row", f"CSV error: {exc}")
            continue
        line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        report.rows_read += 1
        movie_id = values[id_idx].strip() if id_idx < len(values) else ""
        if len(values) != len(header):
            report.add(start, movie_id, "malformed_row",
                       f"{len(values)} fields where the header has {len(header)}")
            continue
        if not movie_id:
            report.add(start, "", "missing_id", f"empty {header[id_idx]!r}")
            continue
        if movie_id in seen:
            report.add(start, movie_id, "duplicate_id", "id already seen earlier in the catalog; later row skipped")
            continue
        seen.add(movie_id)
        row = _validate(values, col, start, movie_id, base, vocabulary, report)
        rows.append(row)
        report.rows_kept += 1
    return rows, report, header[id_idx].strip()


def _field(values, col, name):
    i = col.get(name)
    return values[i] if i is not None else ""


def _validate(values, col, line, movie_id, base, vocabulary, report):
    if any("\ufffd" in v for v in values):
        report.add(line, movie_id, "invalid_utf8", "undecodable bytes replaced by U+FFFD")
    year, year_problem = _parse_year(_field(values, col, "year"))
    if year_problem:
        report.add(line, movie_id, year_problem, f"year {_field(values, col, 'year')!r}; decade unknown")
    genres, unknown = vocabulary.parse(_field(values, col, "genres"))
    for name in unknown:
        report.add(line, movie_id, "unknown_genre", f"{name!r} is not a known genre; dropped")
    if not genres:
        report.add(line, movie_id, "no_genres", "no known genre: kept for prediction, not for training")
    overview = " ".join(_field(values, col, "overview").split())
    if not overview:
        report.add(line, movie_id, "empty_overview", "overview features will be zero")
    poster = _field(values, col, "poster").strip()
    if poster:
        poster = os.path.normpath(os.path.join(base, poster))
        if not os.path.isfile(poster):
            report.add(line, movie_id, "missing_poster", f"{poster} does not exist")
            poster = ""
    else:
        report.add(line, movie_id, "missing_poster", "no poster path given")
    return CatalogRow(movie_id, _field(values, col, "title").strip(), year, tuple(genres), overview, poster)
