"""Data exploration of a catalog or store (seeds 002-004): what the genres, decades, overviews
and poster colours look like before any model is fitted.

- genre counts and movies per decade;
- genre co-occurrence, rows and columns reordered by spectral biclustering so that genres
  that travel together sit together;
- dominant poster colours by genre and by decade: k-means on the coloured pixels of
  downscaled posters, with greys (low saturation, near black or white) counted apart, as
  seed 003 found greys dominate every genre otherwise;
- overview length (words) by genre.
"""

import json
import os

import numpy as np
from PIL import Image
from sklearn.cluster import KMeans, SpectralBiclustering

from featurize.errors import PosterError
from featurize.images import open_image, read_bytes
from store import FeatureStore
from store.catalog import read_catalog
from store.genres import TMDB_GENRES
from store.version import PACKAGE_VERSION

from ..reports import plots
from ..reports.document import Document

THUMB = (32, 48)
GREY_SATURATION = 0.18
GREY_VALUE = (0.12, 0.94)


def load_movies(source):
    """(genres vocabulary, [(genres tuple, decade, overview, poster path)]) from a catalog or a store."""
    if str(source).endswith((".h5", ".hdf5")):
        with FeatureStore.open(source) as s:
            m, genres = s.movies(), s.genres()
            Y = s.labels(m["id"])
        rows = [(tuple(genres[j] for j in np.flatnonzero(Y[i])), int(m["decade"][i]), m["overview"][i], m["poster"][i])
                for i in range(len(m["id"]))]
        return genres, rows
    kept, _, _ = read_catalog(source)
    return list(TMDB_GENRES), [(r.genres, r.decade, r.overview, r.poster) for r in kept]


def cooccurrence(rows, genres):
    idx = {g: j for j, g in enumerate(genres)}
    Y = np.zeros((len(rows), len(genres)))
    for i, r in enumerate(rows):
        for g in r[0]:
            Y[i, idx[g]] = 1
    return Y.T @ Y


def bicluster_order(C, n_clusters=4, seed=0):
    """Row order grouping genres by spectral biclustering of the (normalised) co-occurrence."""
    present = np.flatnonzero(np.diag(C) > 0)
    if len(present) < n_clusters + 1:
        return list(range(len(C)))
    sub = C[np.ix_(present, present)]
    norm = sub / np.sqrt(np.outer(np.diag(sub), np.diag(sub)))  # cosine-like, removes genre size
    model = SpectralBiclustering(n_clusters=n_clusters, method="log", random_state=seed).fit(norm + 1e-3)
    order = present[np.argsort(model.row_labels_, kind="stable")]
    return list(order) + [j for j in range(len(C)) if j not in set(order)]


def poster_pixels(path):
    """RGB pixels (n, 3) in 0..1 of a downscaled poster, or None when it cannot be read."""
    try:
        img = open_image(read_bytes(path), path, draft_to=THUMB)
    except PosterError:
        return None
    return np.asarray(img.resize(THUMB, Image.BILINEAR), dtype=np.float32).reshape(-1, 3) / 255.0


def split_greys(pixels):
    """(coloured pixels, grey share): greys are low-saturation or near-black/white pixels."""
    mx, mn = pixels.max(axis=1), pixels.min(axis=1)
    sat = np.where(mx > 0, (mx - mn) / np.maximum(mx, 1e-6), 0)
    grey = (sat < GREY_SATURATION) | (mx < GREY_VALUE[0]) | (mn > GREY_VALUE[1])
    return pixels[~grey], float(grey.mean()) if len(pixels) else 0.0


def dominant_colours(pixel_sets, k=5, seed=0, max_pixels=20000):
    """k-means palette of a group's coloured pixels: (colours (k,3), shares (k,), grey share)."""
    pixels = np.concatenate(pixel_sets) if pixel_sets else np.empty((0, 3))
    coloured, grey = split_greys(pixels)
    if len(coloured) < k:
        return np.empty((0, 3)), np.empty(0), grey
    rng = np.random.default_rng(seed)
    if len(coloured) > max_pixels:
        coloured = coloured[rng.choice(len(coloured), max_pixels, replace=False)]
    km = KMeans(n_clusters=k, n_init=3, random_state=seed).fit(coloured)
    shares = np.bincount(km.labels_, minlength=k) / len(coloured)
    order = np.argsort(-shares)
    return km.cluster_centers_[order], shares[order] * (1 - grey), grey


def explore(source, out_dir, per_group=120, seed=0, progress=None):
    """Write explore.md / explore.html (plots embedded) and PNGs; returns the summary dict."""
    genres, rows = load_movies(source)
    rng = np.random.default_rng(seed)
    doc = Document("onesheet data exploration")
    doc.p(f"Source {os.path.abspath(str(source))}: {len(rows)} movies.")
    counts = {g: sum(g in r[0] for r in rows) for g in genres}
    decades = {}
    for r in rows:
        decades[r[1]] = decades.get(r[1], 0) + 1
    decade_keys = sorted(d for d in decades if d >= 0)
    doc.h("Genres and decades")
    doc.image("genre_counts.png", plots.grouped_bars_counts(counts, "Movies per genre"), "movies per genre")
    doc.image("decades.png", plots.grouped_bars_counts({f"{d}s": decades[d] for d in decade_keys},
                                                       "Movies per decade"), "movies per decade (release year)")
    C = cooccurrence(rows, genres)
    order = bicluster_order(C)
    doc.h("Genre co-occurrence (spectral biclustering order)")
    doc.image("cooccurrence.png", plots.cooccurrence(C, genres, order),
              "how many movies carry both genres; rows/columns reordered so co-occurring genres cluster")
    lengths = {g: [len(r[2].split()) for r in rows if g in r[0]] for g in genres}
    doc.h("Overview length by genre")
    doc.image("overview_length.png", plots.boxplots({g: v for g, v in lengths.items() if v},
                                                    "Overview length (words) by genre"), "words per overview")
    doc.h("Dominant poster colours (greys counted apart)")
    groups = {("genre", g): [r[3] for r in rows if g in r[0] and r[3]] for g in genres}
    groups.update({("decade", d): [r[3] for r in rows if r[1] == d and r[3]] for d in decade_keys})
    palettes = {}
    bar = progress("colours", len(groups)) if progress else None
    for key, paths in groups.items():
        if paths:
            pick = rng.choice(len(paths), min(per_group, len(paths)), replace=False)
            pixels = [p for p in (poster_pixels(paths[i]) for i in pick) if p is not None]
            palettes[key] = dominant_colours(pixels, seed=seed) + (len(pixels),)
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    for kind in ("genre", "decade"):
        sel = {f"{k[1]}" + ("s" if kind == "decade" else ""): v for k, v in palettes.items() if k[0] == kind}
        if sel:
            doc.image(f"colours_by_{kind}.png", plots.palettes(sel, f"Dominant poster colours by {kind}"),
                      f"share of pixels per colour cluster; grey: low-saturation pixels (sample of up to "
                      f"{per_group} posters per {kind})")
    summary = {"report_schema_version": 1, "package_version": PACKAGE_VERSION, "source": os.path.abspath(str(source)),
               "movies": len(rows), "genre_counts": counts, "movies_per_decade": {str(d): decades[d] for d in decade_keys},
               "cooccurrence_order": [genres[j] for j in order],
               "grey_share": {f"{k[0]}:{k[1]}": v[2] for k, v in palettes.items()},
               "overview_words_median": {g: float(np.median(v)) if v else None for g, v in lengths.items()}}
    doc.table(["group", "posters sampled", "grey share", "top colour (RGB)"],
              [[f"{k[0]} {k[1]}", v[3], v[2], ", ".join(str(int(255 * c)) for c in v[0][0]) if len(v[0]) else "n/a"]
               for k, v in palettes.items()])
    path = doc.write(out_dir, stem="explore")
    with open(os.path.join(out_dir, "explore.json"), "w") as f:
        json.dump(summary, f, indent=2)
    return path, summary
