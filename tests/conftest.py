"""Shared fixtures: tiny synthetic catalogs with real JPEG posters, and the real data set."""

import csv
import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REAL_DATA = Path(os.environ.get("ONESHEET_REAL_DATA")  # a worktree outside the checkout's parent points here
                 or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "tmdb-posters")
REAL_CATALOG = REAL_DATA / "movies.csv"

HEADER = ["movie_key", "title", "year", "genres", "overview", "poster"]

GENRE_POOL = ["Action", "Comedy", "Drama", "Horror", "Romance", "Science Fiction", "Western"]
WORDS = ("space ship alien laser planet love kiss heart wedding murder ghost blood "
         "cowboy horse sheriff gun family dog laugh party war soldier").split()


def write_catalog(path, rows, header=HEADER):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def make_poster(path, seed, size=(60, 90)):
    rng = np.random.default_rng(seed)
    pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(path, quality=85)
    return path


@pytest.fixture
def tiny_catalog(tmp_path):
    """A 24-movie catalog over three decades with real (random-pixel) JPEG posters."""
    posters = tmp_path / "posters"
    posters.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(24):
        make_poster(posters / f"{i}.jpg", i)
        genres = "|".join(sorted(set(rng.choice(GENRE_POOL, size=rng.integers(1, 3)))))
        overview = " ".join(rng.choice(WORDS, size=12))
        rows.append([str(1000 + i), f"Movie {i}", str(1950 + 10 * (i % 3) + i % 7), genres, overview, f"posters/{i}.jpg"])
    return write_catalog(tmp_path / "movies.csv", rows)


@pytest.fixture
def real_catalog():
    if not REAL_CATALOG.exists():
        pytest.skip(f"real data set not found at {REAL_CATALOG}")
    return REAL_CATALOG


def env_without_coverage():
    return {k: v for k, v in os.environ.items() if not k.startswith("COV_")}


@pytest.fixture(scope="session")
def onnx_cache(tmp_path_factory):
    """One ONNX export cache for the whole test session (an export takes a few seconds)."""
    cache = os.environ.get("ONESHEET_TEST_CACHE") or str(tmp_path_factory.mktemp("onnx-cache"))
    old = os.environ.get("ONESHEET_CACHE")
    os.environ["ONESHEET_CACHE"] = cache
    yield cache
    if old is None:
        os.environ.pop("ONESHEET_CACHE", None)
    else:
        os.environ["ONESHEET_CACHE"] = old


def real_slice(path, start, stop):
    """Rows start..stop of the real catalog, poster paths made absolute."""
    with open(REAL_CATALOG, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = [r for i, r in enumerate(reader) if start <= i < stop]
        header = reader.fieldnames
    for r in rows:
        r["poster"] = str(REAL_DATA / r["poster"])
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        w.writerows(rows)
    return path, rows


@pytest.fixture(scope="session")
def fitted(tmp_path_factory, onnx_cache):
    """A store of the first 600 real movies and models fitted on it: (store, models dir, manifest)."""
    if not REAL_CATALOG.exists():
        pytest.skip("real data set not present")
    from classifiers import FitOptions, fit
    from featurize import FeaturizeOptions, featurize
    tmp = tmp_path_factory.mktemp("fit")
    catalog, _ = real_slice(tmp / "train.csv", 0, 600)
    store = tmp / "s.h5"
    featurize(catalog, store, FeaturizeOptions())
    models = tmp / "models"
    manifest = fit(store, models, [("svm", "poster/efficientnet-lite0"), ("nb", "overview/bow"),
                                   ("svm", "poster/efficientnet-lite0+overview/tfidf")], FitOptions(min_movies=100))
    return store, models, manifest


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory, onnx_cache):
    """Models fitted on 80 synthetic movies (random-pixel posters): a real model directory in seconds.

    Its predictions mean nothing; it exercises everything around them (inputs, output rows,
    exit codes). Configurations: poster only, poster + tf-idf, tf-idf only.
    """
    from classifiers import FitOptions, fit
    from featurize import FeaturizeOptions, featurize
    tmp = tmp_path_factory.mktemp("tiny-models")
    (tmp / "posters").mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(80):
        make_poster(tmp / "posters" / f"{i}.jpg", i)
        genres = "|".join(sorted(set(rng.choice(GENRE_POOL[:4], size=rng.integers(1, 3)))))
        rows.append([str(1000 + i), f"M{i}", str(1970 + 10 * (i % 3) + i % 7), genres,
                     " ".join(rng.choice(WORDS, size=12)), f"posters/{i}.jpg"])
    catalog = write_catalog(tmp / "movies.csv", rows)
    featurize(catalog, tmp / "s.h5", FeaturizeOptions())
    fit(tmp / "s.h5", tmp / "models", [("svm", "poster/efficientnet-lite0"),
                                      ("svm", "poster/efficientnet-lite0+overview/tfidf"), ("svm", "overview/tfidf")],
        FitOptions(min_movies=1000))
    return tmp / "models"
