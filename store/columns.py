"""Which header column holds what: synonyms for common names, and ``--columns`` mappings.

A dealer's own catalog rarely says ``overview`` and ``poster``; it says ``Plot`` and
``Image``. Names are compared case-insensitively with spaces and hyphens read as
underscores (``Release Date`` = ``release_date``). An explicit mapping always wins over a
synonym. When neither a poster nor an overview column is found, nothing could ever be
predicted, so ``resolve`` refuses the catalog and suggests a mapping from the data.
"""

import os
import re
import shlex

from .errors import CatalogError

# field -> accepted header names, in order of preference
SYNONYMS = {
    "id": ("id", "movie_key", "tmdb_id", "movie_id", "imdb_id"),
    "title": ("title", "name", "movie_title", "film", "movie", "original_title"),
    "year": ("year", "release_year", "release_date", "date", "released", "year_released"),
    "genres": ("genres", "genre", "categories", "category"),
    "overview": ("overview", "plot", "synopsis", "description", "summary", "storyline", "plot_summary"),
    "poster": ("poster", "image", "poster_path", "file", "image_path", "poster_file", "filename", "file_name",
               "path", "image_file", "picture", "img"),
}
FIELDS = tuple(SYNONYMS)
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".gif", ".tif", ".tiff")


def normalise(name) -> str:
    return re.sub(r"[\s\-]+", "_", str(name).strip().lower())


def parse_mapping(text) -> dict:
    """``"overview=Plot,poster=Image"`` -> {"overview": "Plot", "poster": "Image"}."""
    out = {}
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        field, sep, column = part.partition("=")
        field = normalise(field)
        if not sep or not column.strip():
            raise CatalogError(f"--columns takes FIELD=COLUMN pairs separated by commas, e.g. "
                               f"overview=Plot,poster=Image; got {part!r}")
        if field not in SYNONYMS:
            raise CatalogError(f"--columns: unknown field {field!r}; the fields are {', '.join(FIELDS)}")
        out[field] = column.strip()
    return out


def resolve(header, mapping=None, id_column=None, path="the catalog", sample=()):
    """{field: column index} for the header; raises CatalogError when the catalog is unusable.

    ``sample`` (a few data rows) only serves the suggestion in the error message.
    """
    mapping = dict(mapping or {})
    if id_column is not None:
        mapping["id"] = id_column
    position = {}
    for i, h in enumerate(header):
        position.setdefault(normalise(h), i)
    seen = ", ".join(h.strip() for h in header)
    found = {}
    for field, column in mapping.items():
        if normalise(column) not in position:
            flag = "--id-column" if field == "id" and column == id_column else f"--columns {field}={column}"
            raise CatalogError(f"{flag}: {path} has no column {column!r}; its columns are: {seen}")
        found[field] = position[normalise(column)]
    for field, names in SYNONYMS.items():
        if field not in found:
            hit = next((position[n] for n in names if n in position and position[n] not in found.values()), None)
            if hit is not None:
                found[field] = hit
    if "id" not in found:
        raise CatalogError(f"no id column in {path}: its columns are: {seen}; the id column is one of "
                           f"{', '.join(SYNONYMS['id'])}, or pass --id-column NAME")
    if "poster" not in found and "overview" not in found:
        raise CatalogError(f"no poster and no overview column recognised in {path} (columns seen: {seen}); "
                           f"nothing could be featurized or predicted. Map yours, e.g. "
                           f"--columns {suggest(header, found, sample)}")
    return found


def suggest(header, found, sample=()) -> str:
    """A ``--columns`` value guessed from the data: image-like values -> poster, the longest text -> overview."""
    free = [i for i in range(len(header)) if i not in found.values()]
    rows = [r for r in sample if len(r) == len(header)]

    def share(i, test):
        values = [r[i].strip() for r in rows if r[i].strip()]
        return sum(map(test, values)) / len(values) if values else 0.0

    poster = max(free, key=lambda i: share(i, lambda v: v.lower().endswith(IMAGE_SUFFIXES) or os.sep in v),
                 default=None)
    if poster is not None and not share(poster, lambda v: v.lower().endswith(IMAGE_SUFFIXES) or os.sep in v):
        poster = None
    rest = [i for i in free if i != poster]
    overview = max(rest, key=lambda i: sum(len(r[i]) for r in rows), default=None)
    parts = []
    if overview is not None:
        parts.append(f"overview={header[overview].strip()}")
    if poster is not None:
        parts.append(f"poster={header[poster].strip()}")
    return shlex.quote(",".join(parts) or "overview=COLUMN,poster=COLUMN")
