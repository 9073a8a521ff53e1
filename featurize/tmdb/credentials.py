"""TMDb credentials from the environment or a file, kept out of argv, logs, files and error messages.

TMDb accepts a v4 read-access token (sent as ``Authorization: Bearer``, never part of a URL)
or a v3 API key (sent as the ``api_key`` query parameter, so it is part of every request URL:
``redact`` and ``RedactingFilter`` scrub it from anything that might print a URL).
"""

import logging
import os
import stat
from dataclasses import dataclass, field

from .errors import CredentialsError

TOKEN_ENV = "TMDB_TOKEN"
KEY_ENV = "TMDB_API_KEY"
FILE_ENV = "TMDB_CREDENTIALS_FILE"
REDACTED = "<redacted>"


@dataclass(frozen=True)
class Credentials:
    kind: str                                # "token" or "api_key"
    secret: str = field(repr=False)
    source: str = ""                         # where it came from (an env name or a file path), safe to print

    def __repr__(self):
        return f"Credentials(kind={self.kind!r}, source={self.source!r}, secret={REDACTED})"

    __str__ = __repr__

    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.secret}"} if self.kind == "token" else {}

    def params(self) -> dict:
        return {"api_key": self.secret} if self.kind == "api_key" else {}

    def redact(self, text) -> str:
        return str(text).replace(self.secret, REDACTED) if self.secret else str(text)


def _guess_kind(value: str) -> str:
    """v3 keys are 32 hex characters; v4 read-access tokens are long JWTs (``eyJ...``)."""
    return "api_key" if len(value) <= 40 and value.isalnum() else "token"


def _from_file(path: str) -> Credentials:
    try:
        text = open(path, encoding="utf-8").read()
    except OSError as exc:
        raise CredentialsError(f"cannot read the TMDb credentials file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CredentialsError(f"the TMDb credentials file {path} is not UTF-8 text; it should hold the key or "
                               f"token on one line") from None
    values = {}
    bare = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if sep:
            values[name.strip().removeprefix("export ").strip()] = value.strip().strip("'\"")
        else:
            bare.append(line)
    if values.get(TOKEN_ENV):
        return Credentials("token", values[TOKEN_ENV], path)
    if values.get(KEY_ENV):
        return Credentials("api_key", values[KEY_ENV], path)
    if len(bare) == 1:
        return Credentials(_guess_kind(bare[0]), bare[0], path)
    raise CredentialsError(f"{path} holds no TMDb credentials: write one line TMDB_TOKEN=... or TMDB_API_KEY=...")


def load_credentials(path=None, environ=None) -> Credentials:
    """TMDB_TOKEN, then TMDB_API_KEY, then ``path`` (or $TMDB_CREDENTIALS_FILE); a CredentialsError if none."""
    env = os.environ if environ is None else environ
    if env.get(TOKEN_ENV, "").strip():
        return Credentials("token", env[TOKEN_ENV].strip(), TOKEN_ENV)
    if env.get(KEY_ENV, "").strip():
        return Credentials("api_key", env[KEY_ENV].strip(), KEY_ENV)
    path = path or env.get(FILE_ENV)
    if path:
        return _from_file(os.path.expanduser(path))
    raise CredentialsError(f"no TMDb credentials: set {TOKEN_ENV} (read-access token) or {KEY_ENV}, or pass "
                           f"--credentials-file FILE (see https://www.themoviedb.org/settings/api)")


def loosely_readable(path) -> bool:
    """True when a credentials file can be read by other users (worth a warning)."""
    try:
        return bool(os.stat(path).st_mode & (stat.S_IRGRP | stat.S_IROTH))
    except OSError:
        return False


class RedactingFilter(logging.Filter):
    """Scrubs the secret from log records (httpx logs every request URL at INFO, api_key included)."""

    def __init__(self, credentials: Credentials):
        super().__init__()
        self.credentials = credentials

    def filter(self, record):
        if self.credentials.secret:
            message = record.getMessage()
            if self.credentials.secret in message:
                record.msg, record.args = self.credentials.redact(message), None
        return True
