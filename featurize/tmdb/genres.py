"""TMDb genre ids -> onesheet's genre names, from TMDb's own ``genre/movie/list``.

Genre names are asked in English whatever ``--language`` is: the catalog format uses TMDb's
English names, and onesheet's vocabulary normalises them (an unknown name is kept as it is,
so `ingest` reports it rather than this fetcher hiding it).
"""

from store.genres import GenreVocabulary

from .errors import TmdbRequestError

GENRE_LANGUAGE = "en-US"


def genre_names(client) -> dict:
    """{TMDb genre id: genre name} for movies."""
    body = client.get_json("/genre/movie/list", language=GENRE_LANGUAGE)
    vocabulary = GenreVocabulary()
    names = {}
    for item in body.get("genres") or []:
        try:
            gid, name = int(item["id"]), str(item["name"]).strip()
        except (KeyError, TypeError, ValueError):
            continue
        names[gid] = vocabulary.normalise(name) or name
    if not names:
        raise TmdbRequestError("bad_json", "/genre/movie/list: no genres in the answer")
    return names
