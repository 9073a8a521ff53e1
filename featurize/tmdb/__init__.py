"""fetch-tmdb: grow a training catalog (movies.csv + posters/) from TMDb's API.

Small modules, one job each: ``credentials`` (env or file, never printed), ``ratelimit``
(token bucket), ``client`` (httpx, retries, 429), ``genres``, ``discover`` (pages within the
500-page limit), ``movies`` (rows -> records), ``posters`` (checked, atomic files),
``manifest`` (fetch.json), ``catalog`` (movies.csv), ``fetch`` (the resumable run), ``cli``.
"""

from .errors import CredentialsError, FetchDirError, FetchOptionsError, TmdbAuthError, TmdbError, TmdbRequestError
from .fetch import DEFAULT_API_URL, DEFAULT_IMAGE_URL, FetchOptions, FetchSummary, fetch_tmdb

__all__ = ["fetch_tmdb", "FetchOptions", "FetchSummary", "DEFAULT_API_URL", "DEFAULT_IMAGE_URL", "TmdbError",
           "CredentialsError", "FetchDirError", "FetchOptionsError", "TmdbAuthError", "TmdbRequestError"]
