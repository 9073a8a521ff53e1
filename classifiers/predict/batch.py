"""Catalog mode: predict a whole catalog or a folder of bare posters into one CSV.

This is the poster dealer's daily job: thousands of rows, some with broken or missing
posters. Every input row gets an output row, in input order: a row that cannot be
predicted (a malformed or duplicate catalog row, a broken bare poster, a file that is not
an image) carries an ``error`` value, and the run goes on.
"""

import csv
import os
from collections import Counter
from dataclasses import dataclass

from store import atomic
from store.catalog import read_catalog
from store.columns import IMAGE_SUFFIXES

from .predictor import Predictor

# catalog problems that do not stop a prediction but change it: shown in its warning column
_WARN = ("invalid_year", "impossible_year", "invalid_utf8", "missing_poster")


@dataclass
class InputRow:
    id: str
    poster: object          # path, bytes or "" (none)
    overview: str = ""
    year: object = None     # int or None
    error: str = ""         # set when the row cannot be predicted at all (it is written, not predicted)
    warning: str = ""       # catalog problems worth repeating beside the prediction


def catalog_rows(path, id_column=None, columns=None):
    """(id header, [InputRow]) for EVERY data row of a catalog CSV, in file order.

    Rows validation skipped (malformed, missing or duplicate id) come with their error;
    kept rows with the problems that matter for prediction (a bad year, a missing poster
    file) as warnings.
    """
    kept, report, id_col = read_catalog(path, id_column=id_column, columns=columns)
    by_line = {}
    for p in report.problems:
        by_line.setdefault(p.line, []).append(p)
    out = []
    for r in kept:
        notes = [f"{p.kind}: {p.detail}" for p in by_line.get(r.line, [])
                 if p.kind in _WARN and p.detail != "no poster path given"]
        out.append((r.line, InputRow(r.id, r.poster, r.overview, r.year if r.year >= 0 else None,
                                     warning="; ".join(notes))))
    for p in report.problems:
        if p.fatal:
            out.append((p.line, InputRow(p.id, "", error=f"{p.kind}: line {p.line}: {p.detail}")))
    out.sort(key=lambda pair: pair[0])
    return id_col, [row for _, row in out]


def _unique_ids(paths):
    """The file name without suffix, or with it where two files share a stem (img.bmp, img.tiff)."""
    stems = [os.path.splitext(p)[0] for p in paths]
    count = Counter(stems)
    ids = [s if count[s] == 1 else p for s, p in zip(stems, paths)]
    # a stem can still equal another file's full name (a.jpg, a.png, a.jpg.png): it keeps its full name too
    full = {p for i, p in zip(ids, paths) if i == p}
    return [p if i in full and i != p else i for i, p in zip(ids, paths)]


def folder_rows(folder, year=None, recursive=False):
    """('id', [InputRow], notes) for every file in a folder (and its subfolders with ``recursive``).

    Ids are paths relative to the folder without their suffix, or with it when two files
    share a stem. Files that are not images by their suffix get a row with an error;
    subfolders that are not searched are named in ``notes``.
    """
    files, notes = [], []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        rel = os.path.relpath(root, folder)
        if not recursive:
            if dirs:
                notes.append(f"{len(dirs)} subfolder(s) not searched ({', '.join(dirs[:5])}"
                             f"{', ...' if len(dirs) > 5 else ''}); pass --recursive to include them")
            dirs[:] = []
        files += [n if rel == "." else os.path.join(rel, n) for n in sorted(names)]
    rows = []
    for movie_id, name in zip(_unique_ids(files), files):
        path = os.path.join(folder, name)
        suffix = os.path.splitext(name)[1].lower()
        if suffix in IMAGE_SUFFIXES:
            rows.append(InputRow(movie_id, path, "", year))
        else:
            rows.append(InputRow(movie_id, "", "", year,
                                 error=f"unsupported_format: {name} is not read ({suffix or 'no suffix'}); "
                                       f"images are {' '.join(IMAGE_SUFFIXES)}"))
    return "id", rows, notes


def predict_rows(predictor: Predictor, rows, out, id_header, chunk=512, progress=None, prior_shift=False):
    """Predict ``rows`` in chunks and write one CSV row each; returns (written, rows with an error).

    ``out`` is a path (written to a temporary file and swapped in: never half a file) or
    an open text stream such as stdout. ``prior_shift`` corrects for the catalog's own
    genre mix (EM on the whole catalog at once, so it is predicted in one chunk).
    """
    if prior_shift:
        chunk = max(1, len(rows))
    if hasattr(out, "write"):
        return _write(predictor, rows, out, id_header, chunk, progress, prior_shift)
    path = os.path.abspath(out)
    tmp = atomic.temp_path(path)
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            result = _write(predictor, rows, f, id_header, chunk, progress, prior_shift)
        atomic.commit(tmp, path)
    except BaseException:
        atomic.remove_quietly(tmp)
        raise
    return result


def _write(predictor, rows, stream, id_header, chunk, progress, prior_shift=False):
    genres = predictor.genres
    errors = 0
    writer = csv.writer(stream)
    writer.writerow([id_header, "genres"] + genres + ["model", "error", "warning"])
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        todo = [r for r in part if not r.error]
        preds = iter(predictor.predict([r.poster for r in todo], [r.overview for r in todo],
                                       [r.year for r in todo], prior_shift=prior_shift) if todo else [])
        for row in part:
            if row.error:
                errors += 1
                writer.writerow([row.id, ""] + [""] * len(genres) + ["", row.error, row.warning])
                continue
            p = next(preds)
            errors += bool(p.error)
            scores = [f"{p.probabilities[g]:.4f}" if g in p.probabilities else "" for g in genres]
            warning = "; ".join(w for w in (p.warning, row.warning) if w)
            writer.writerow([row.id, "|".join(p.genres)] + scores + [p.model, p.error, warning])
        if progress:
            progress.update(len(part))
    stream.flush()
    return len(rows), errors
