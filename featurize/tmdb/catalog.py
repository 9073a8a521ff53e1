"""DIR/movies.csv in onesheet's catalog format, rewritten atomically from the manifest's movies."""

import csv
import os

from store import atomic

CATALOG = "movies.csv"
COLUMNS = ["id", "tmdb_id", "title", "year", "genres", "overview", "poster", "vote_count", "original_language",
           "release_date"]


def catalog_columns(imdb_ids: bool) -> list:
    return COLUMNS[:2] + ["imdb_id"] + COLUMNS[2:] if imdb_ids else list(COLUMNS)


def catalog_row(movie) -> dict:
    return {"id": movie.id, "tmdb_id": movie.id, "imdb_id": movie.imdb_id or "", "title": movie.title,
            "year": movie.year, "genres": "|".join(movie.genres), "overview": movie.overview,
            "poster": movie.poster, "vote_count": movie.vote_count,
            "original_language": movie.original_language, "release_date": movie.release_date}


def write_catalog(out_dir, movies, imdb_ids=False) -> str:
    """Write every movie (sorted by year, then id) to DIR/movies.csv; readers see the old or the new file."""
    path = os.path.join(out_dir, CATALOG)
    columns = catalog_columns(imdb_ids)
    with atomic.replacing(path) as tmp:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, columns, extrasaction="ignore")
            writer.writeheader()
            for movie in sorted(movies, key=lambda m: (m.year, m.id)):
                writer.writerow(catalog_row(movie))
    return path
