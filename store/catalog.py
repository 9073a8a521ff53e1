"""Read a movies CSV into validated rows plus a report of every row it had to fix or skip.

Nothing here raises for a bad *row*: a catalog of thousands is ingested even when a few
rows are broken, and the report says which rows and why. Only a file that cannot be a
catalog at all (missing, no header, no id column, neither a poster nor an overview
column) raises CatalogError.
"""

import os
import re
from dataclasses import dataclass, field

from .columns import SYNONYMS, resolve
from .csvrecords import RecordReader
from .errors import CatalogError
from .genres import GenreVocabulary
from .schema import MAX_YEAR, MIN_YEAR, UNKNOWN_YEAR, decade_of

ID_COLUMNS = SYNONYMS["id"]
_YEAR = re.compile(r"(\d{4})(?:\.0+|[-/]\d{1,2}(?:[-/]\d{1,2}(?:[T ][\d:.]+Z?)?)?)?")

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
    line: int = 0  # the CSV line the row starts on

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
    columns: dict = field(default_factory=dict)          # field -> the header column read for it
    ignored_columns: list = field(default_factory=list)  # header columns nothing reads

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
            "columns": self.columns,
            "ignored_columns": self.ignored_columns,
            "problems": [
                {"line": p.line, "id": p.id, "kind": p.kind, "detail": p.detail, "fatal": p.fatal}
                for p in self.problems
            ],
        }


def parse_year(text):
    """(year, problem kind or None) for one catalog field.

    Integers in ``MIN_YEAR..MAX_YEAR`` only. A spreadsheet's ``1999.0`` and an ISO date's
    leading year (``1999-05-21``, for a ``release_date`` column) are accepted; ``1999.9``,
    ``inf``, ``1e400`` or ``abc`` are ``invalid_year``, integers outside the range
    ``impossible_year``, and the row is kept with its year unknown.
    """
    text = (text or "").strip()
    if not text:
        return UNKNOWN_YEAR, "missing_year"
    match = _YEAR.fullmatch(text)
    if not match:
        return UNKNOWN_YEAR, "invalid_year"
    year = int(match.group(1))
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


def _row_like(columns):
    """Does a line swallowed into a multi-line record read as a catalog row of its own?"""
    id_idx, year_idx = columns["id"], columns.get("year")

    def test(values):
        movie_id = values[id_idx].strip()
        if not movie_id or any(c.isspace() for c in movie_id):
            return False
        return year_idx is None or not values[year_idx].strip() or parse_year(values[year_idx])[1] is None
    return test


def read_catalog(path, vocabulary=None, id_column=None, columns=None):
    """Parse and validate a catalog CSV: (rows kept, ValidationReport, id column name).

    ``columns`` maps fields (id, title, year, genres, overview, poster) to header names
    where the synonyms in ``store.columns`` do not find them.
    """
    path = os.path.abspath(path)
    vocabulary = vocabulary or GenreVocabulary()
    base = os.path.dirname(path)
    records = RecordReader(_read_text(path))
    it = iter(records)
    header = next(it, None)
    if header is None or not header.values or header.error:
        raise CatalogError(f"{path} has no CSV header row")
    header = header.values
    sample = [r.values for r in RecordReader("".join(records.lines[1:50]))]
    col = resolve(header, columns, id_column, path, sample)
    records.width, records.looks_like_row = len(header), _row_like(col)
    id_idx = col["id"]
    report = ValidationReport(catalog=path, columns={f: header[i].strip() for f, i in col.items()},
                              ignored_columns=[h.strip() for i, h in enumerate(header) if i not in col.values()])
    rows, seen = [], set()
    for record in it:
        values, start = record.values, record.line
        if not record.error and (not values or all(not v.strip() for v in values)):
            continue
        report.rows_read += 1
        movie_id = values[id_idx].strip() if id_idx < len(values) else ""
        if record.error:
            report.add(start, movie_id, "malformed_row", record.error)
            continue
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
    year, year_problem = parse_year(_field(values, col, "year"))
    if year_problem and year_problem != "missing_year":
        report.add(line, movie_id, year_problem, f"year {_field(values, col, 'year')!r} is not a whole number "
                                                 f"from {MIN_YEAR} to {MAX_YEAR}; row kept, decade unknown")
    elif year_problem:
        report.add(line, movie_id, year_problem, "no year; row kept, decade unknown")
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
    return CatalogRow(movie_id, _field(values, col, "title").strip(), year, tuple(genres), overview, poster, line)
