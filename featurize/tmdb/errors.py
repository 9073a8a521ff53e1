"""Named errors of `onesheet fetch-tmdb`; every message says what to do and never holds a credential."""

from store.errors import OnesheetError


class TmdbError(OnesheetError):
    """Base class of the TMDb fetcher's failures a user can act on."""


class CredentialsError(TmdbError):
    """No TMDb API key or read-access token was found, or the credentials file cannot be read."""


class FetchOptionsError(TmdbError, ValueError):
    """An option that cannot work (years that cannot be read, an unknown poster size, a rate of 0)."""


class TmdbAuthError(TmdbError):
    """TMDb refused the credentials (HTTP 401): the whole run stops, nothing already fetched is lost."""


class FetchDirError(TmdbError):
    """The output folder holds something fetch-tmdb must not touch, or was fetched with other settings."""


class TmdbRequestError(TmdbError):
    """One request failed for good (after retries, or with a status that retrying cannot fix).

    ``kind`` names why (``http_404``, ``http_500``, ``timeout``, ``bad_json`` ...); the row that
    needed it is reported and the batch goes on.
    """

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class TmdbNotFoundError(TmdbRequestError):
    """TMDb answered 404: the movie (or poster) is gone; retrying later will not help."""
