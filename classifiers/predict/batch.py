"""Catalog mode: predict a whole catalog or a folder of bare posters into one CSV.

This is the poster dealer's daily job: thousands of rows, some with broken or missing
posters. Each bad row gets an ``error`` value and the run goes on.
"""

import csv
import os

from store.catalog import read_catalog

from .predictor import Predictor

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def catalog_rows(path, id_column=None):
    """(id header, [(id, poster, overview, year)]) from a catalog CSV (genres may be empty)."""
    rows, _report, id_col = read_catalog(path, id_column=id_column)
    return id_col, [(r.id, r.poster, r.overview, r.year if r.year >= 0 else None) for r in rows]


def folder_rows(folder, year=None):
    """('id', rows) for every image file in a folder; the id is the file name without suffix."""
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_SUFFIXES))
    return "id", [(os.path.splitext(n)[0], os.path.join(folder, n), "", year) for n in names]


def predict_rows(predictor: Predictor, rows, out_path, id_header, chunk=512, progress=None, prior_shift=False):
    """Predict ``rows`` in chunks and write the CSV; returns (written, errors).

    ``prior_shift`` corrects for the catalog's own genre mix (EM on the whole catalog at once)."""
    if prior_shift:
        chunk = max(1, len(rows))
    genres = predictor.genres
    errors = 0
    tmp = out_path + ".tmp"
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([id_header, "genres"] + genres + ["model", "error", "warning"])
        for start in range(0, len(rows), chunk):
            part = rows[start:start + chunk]
            preds = predictor.predict([r[1] for r in part], [r[2] for r in part], [r[3] for r in part],
                                      prior_shift=prior_shift)
            for (movie_id, *_), p in zip(part, preds):
                errors += bool(p.error)
                scores = [f"{p.probabilities[g]:.4f}" if g in p.probabilities else "" for g in genres]
                writer.writerow([movie_id, "|".join(p.genres)] + scores + [p.model, p.error, p.warning])
            if progress:
                progress.update(len(part))
    os.replace(tmp, out_path)
    return len(rows), errors
