"""Catalog -> store: create or update the movie table and labels, keeping valid features."""

from dataclasses import dataclass

import numpy as np

from .catalog import read_catalog
from .errors import StoreError
from .genres import GenreVocabulary
from .h5 import FeatureStore
from .hashing import sha256_file


@dataclass
class IngestResult:
    report: object          # catalog.ValidationReport
    id_column: str
    added: int
    updated: int
    unchanged: int
    invalidated: dict       # feature name -> rows dropped because their input changed
    rows: list              # the catalog rows that were kept (catalog.CatalogRow)


def _poster_hash(row):
    try:
        return sha256_file(row.poster) if row.poster else ""
    except OSError:
        return ""


def ingest(catalog_path, store_path, id_column=None, vocabulary=None, columns=None) -> IngestResult:
    """Merge a catalog into the store; features of movies whose poster/overview changed are dropped.

    ``columns`` maps fields to header names (``store.columns``); the catalog is read before
    the store is opened, so a catalog that cannot be read leaves the store untouched.
    """
    vocabulary = vocabulary or GenreVocabulary()
    rows, report, id_col = read_catalog(catalog_path, vocabulary, id_column, columns)
    with FeatureStore.open(store_path, mode="a") as store:
        old = store.movies()
        if len(old["id"]) and store.genres() != list(vocabulary.genres):
            raise StoreError(f"{store_path} uses genres {store.genres()}, the catalog vocabulary differs")
        columns = {k: list(v) for k, v in old.items()}
        old_labels = store.labels(old["id"]) if len(old["id"]) else np.zeros((0, len(vocabulary)), np.uint8)
        labels = [r for r in old_labels]
        position = {m: i for i, m in enumerate(columns["id"])}
        added = updated = unchanged = 0
        changed_by_source = {"poster": [], "overview": []}
        for row in rows:
            multi_hot = np.zeros(len(vocabulary), np.uint8)
            multi_hot[[vocabulary.index(g) for g in row.genres]] = 1
            values = {"id": row.id, "title": row.title, "overview": row.overview, "poster": row.poster,
                      "poster_sha256": _poster_hash(row), "year": row.year, "decade": row.decade}
            i = position.get(row.id)
            if i is None:
                position[row.id] = len(columns["id"])
                for k, v in values.items():
                    columns[k].append(v)
                labels.append(multi_hot)
                added += 1
                continue
            if values["poster_sha256"] != columns["poster_sha256"][i]:
                changed_by_source["poster"].append(row.id)
            if values["overview"] != columns["overview"][i]:
                changed_by_source["overview"].append(row.id)
            same = all(columns[k][i] == v for k, v in values.items()) and np.array_equal(labels[i], multi_hot)
            for k, v in values.items():
                columns[k][i] = v
            labels[i] = multi_hot
            unchanged += same
            updated += not same
        invalidated = {}
        with store.batch():
            store.replace_movies(columns, np.array(labels).reshape(-1, len(vocabulary)), vocabulary.genres,
                                 report.to_dict() | {"id_column": id_col})
            for name in store.features():
                stale = changed_by_source.get(name.split("/")[0], [])
                if stale:
                    invalidated[name] = store.delete_rows(name, stale)
    return IngestResult(report, id_col, added, updated, unchanged, invalidated, rows)
