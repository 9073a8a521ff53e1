"""One TMDb movie as the catalog stores it, built from a ``discover/movie`` row (and its details)."""

from dataclasses import asdict, dataclass, field


class BadRow(ValueError):
    """A discover row that cannot be a catalog movie (no id, no title); reported and skipped."""


@dataclass
class Movie:
    id: int
    title: str
    year: int
    release_date: str = ""
    genres: list = field(default_factory=list)
    overview: str = ""
    poster_path: str = ""            # TMDb's path on the image CDN ("/abc.jpg"), "" when it has none
    vote_count: int = 0
    original_language: str = ""
    imdb_id: str = None              # None: not asked (or not fetched yet); "": TMDb has none
    poster: str = ""                 # the catalog's poster path (posters/<id>.jpg) once saved
    poster_problem: dict = None      # {"kind", "detail"} when the poster could not be saved
    fetched_at: str = ""

    def to_record(self) -> dict:
        record = asdict(self)
        del record["id"]
        return record

    @classmethod
    def from_record(cls, movie_id, record) -> "Movie":
        return cls(id=int(movie_id), **{k: v for k, v in record.items() if k in cls.__dataclass_fields__})


def movie_from_discover(row, year, genre_names) -> Movie:
    """A Movie from one ``results`` item of discover/movie; BadRow when it is unusable."""
    if not isinstance(row, dict):
        raise BadRow(f"not an object: {str(row)[:80]}")
    try:
        movie_id = int(row["id"])
    except (KeyError, TypeError, ValueError):
        raise BadRow(f"no usable id: {str(row)[:80]}") from None
    if movie_id <= 0:
        raise BadRow(f"id {movie_id} is not positive")
    title = str(row.get("title") or row.get("original_title") or "").strip()
    if not title:
        raise BadRow(f"movie {movie_id} has no title")
    genres = []
    for gid in row.get("genre_ids") or []:
        name = genre_names.get(gid) if isinstance(gid, int) else None
        if name and name not in genres:
            genres.append(name)
    release = str(row.get("release_date") or "")
    try:
        votes = int(row.get("vote_count") or 0)
    except (TypeError, ValueError):
        votes = 0
    return Movie(id=movie_id, title=title, year=year, release_date=release, genres=genres,
                 overview=" ".join(str(row.get("overview") or "").split()),
                 poster_path=str(row.get("poster_path") or ""), vote_count=votes,
                 original_language=str(row.get("original_language") or ""))


def apply_details(movie: Movie, details: dict, genre_names) -> None:
    """Take what only ``movie/{id}`` has (the IMDb id), and its fuller fields where discover's were empty."""
    movie.imdb_id = str(details.get("imdb_id") or "")
    if not movie.overview:
        movie.overview = " ".join(str(details.get("overview") or "").split())
    if not movie.genres:
        names = [genre_names.get(g.get("id"), g.get("name")) for g in details.get("genres") or []
                 if isinstance(g, dict)]
        movie.genres = [n for i, n in enumerate(names) if n and n not in names[:i]]
    if not movie.poster_path:
        movie.poster_path = str(details.get("poster_path") or "")
