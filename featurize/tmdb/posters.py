"""Poster files: download, check with featurize's own image checks, then write atomically.

A poster is written under a temporary name and renamed into ``posters/<id>.jpg``, so a file
with the final name is always complete: its existence is what "already downloaded" means
(a re-run never asks for it again). A broken, truncated or HTML "image" is reported with the
same kinds featurize uses (``truncated``, ``not_an_image``, ...) and never saved.
"""

import glob
import os

from store import atomic

from ..images import open_image

POSTER_DIR = "posters"


def poster_relpath(movie_id) -> str:
    return f"{POSTER_DIR}/{movie_id}.jpg"


def check_image(data: bytes, name: str) -> None:
    """Raise PosterError unless ``data`` is an image featurize will accept (decoded in full)."""
    open_image(data, name)


def save_poster(out_dir, movie_id, data: bytes) -> str:
    """Check and atomically write one poster; its catalog path (relative to ``out_dir``)."""
    rel = poster_relpath(movie_id)
    check_image(data, f"poster of movie {movie_id}")
    with atomic.replacing(os.path.join(out_dir, rel)) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
    return rel


def have_poster(out_dir, movie_id) -> bool:
    return os.path.isfile(os.path.join(out_dir, poster_relpath(movie_id)))


def download_poster(client, out_dir, movie_id, poster_path, size) -> str:
    """Fetch, check and save; PosterError (bad image) or TmdbRequestError (request failed) otherwise."""
    return save_poster(out_dir, movie_id, client.get_image(size, poster_path))


def remove_stale_poster_temps(out_dir) -> list:
    """Delete half-written posters left by a killed run (only while holding the folder's lock)."""
    removed = []
    for stale in glob.glob(os.path.join(out_dir, POSTER_DIR, ".*.tmp-*")):
        atomic.remove_quietly(stale)
        removed.append(stale)
    return removed

