"""TMDb's 19 genres, and the spellings of them that catalogs use in the wild."""

import re

TMDB_GENRES = (
    "Action", "Adventure", "Animation", "Comedy", "Crime", "Documentary", "Drama",
    "Family", "Fantasy", "History", "Horror", "Music", "Mystery", "Romance",
    "Science Fiction", "TV Movie", "Thriller", "War", "Western",
)

# Keys are normalised with _key(); values must be TMDb names.
ALIASES = {
    "scifi": "Science Fiction",
    "sf": "Science Fiction",
    "sciencefiction": "Science Fiction",
    "musical": "Music",
    "musicals": "Music",
    "animated": "Animation",
    "cartoon": "Animation",
    "documentaries": "Documentary",
    "doc": "Documentary",
    "historical": "History",
    "romantic": "Romance",
    "tv": "TV Movie",
    "tvmovie": "TV Movie",
    "telefilm": "TV Movie",
    "warfilm": "War",
    "horrors": "Horror",
    "thrillers": "Thriller",
    "suspense": "Thriller",
    "kids": "Family",
    "children": "Family",
    "western": "Western",
    "westerns": "Western",
}


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


class GenreVocabulary:
    """Maps free-text genre names onto a fixed, ordered vocabulary."""

    def __init__(self, genres=TMDB_GENRES, aliases=None):
        self.genres = tuple(genres)
        self._index = {g: i for i, g in enumerate(self.genres)}
        self._lookup = {_key(g): g for g in self.genres}
        for alias, target in (ALIASES if aliases is None else aliases).items():
            if target in self._index:
                self._lookup.setdefault(_key(alias), target)

    def __len__(self):
        return len(self.genres)

    def normalise(self, name: str):
        """The vocabulary's spelling of ``name``, or None when it is unknown."""
        return self._lookup.get(_key(name))

    def parse(self, field: str):
        """Split a '|'-separated genre field: (known genres in order, unknown names)."""
        known, unknown = [], []
        for raw in field.split("|"):
            raw = raw.strip()
            if not raw:
                continue
            genre = self.normalise(raw)
            if genre is None:
                unknown.append(raw)
            elif genre not in known:
                known.append(genre)
        return known, unknown

    def index(self, genre: str) -> int:
        return self._index[genre]
