"""The HTTP client: rate-limited, retrying, and counting what it did.

* every attempt takes a token from the shared ``TokenBucket`` first;
* 429: the bucket pauses for ``Retry-After`` (seconds or an HTTP date; 1 s when absent), then retry;
* 5xx, timeouts, dropped connections and unparsable JSON: exponential backoff with full
  jitter (``backoff * 2**attempt``, capped), then retry;
* at most ``max_retries`` retries, then ``TmdbRequestError``; 404 is ``TmdbNotFoundError``
  at once; 401 is ``TmdbAuthError`` (the run cannot go on);
* a body is read as a stream and dropped past ``MAX_BODY`` (``too_large``), so a bogus
  multi-gigabyte "poster" never fills memory.

Messages name the path, never the full URL, and pass through ``Credentials.redact``.
"""

import email.utils
import json
import logging
import random
import threading
import time
from collections import Counter

import httpx

from .credentials import Credentials, RedactingFilter
from .errors import TmdbAuthError, TmdbNotFoundError, TmdbRequestError
from .ratelimit import TokenBucket

MAX_BACKOFF = 30.0
MAX_RETRY_AFTER = 120.0
MAX_BODY = 50 * 1024 * 1024          # featurize's own limit on a poster file; JSON pages are far smaller


def retry_after_seconds(value, now=None) -> float:
    """A Retry-After header (delta-seconds or an HTTP date) in seconds; 1 s when absent or unreadable."""
    if not value:
        return 1.0
    try:
        return min(MAX_RETRY_AFTER, max(0.0, float(value)))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError):
        return 1.0
    return min(MAX_RETRY_AFTER, max(0.0, when - (time.time() if now is None else now)))


class RequestStats:
    """Thread-safe counters: requests sent, retries by cause, final failures by kind."""

    def __init__(self):
        self._lock = threading.Lock()
        self.requests = 0
        self.retries = Counter()
        self.failures = Counter()

    def count(self, attr, key=None):
        with self._lock:
            if key is None:
                self.requests += 1
            else:
                getattr(self, attr)[key] += 1

    def to_dict(self) -> dict:
        with self._lock:
            return {"requests": self.requests, "retries": dict(self.retries), "failures": dict(self.failures)}


class TmdbClient:
    def __init__(self, credentials: Credentials, api_url: str, image_url: str, limiter: TokenBucket, *,
                 timeout=30.0, max_retries=5, backoff=0.5, concurrency=4, sleep=time.sleep, seed=None):
        self.credentials = credentials
        self.api_url = api_url.rstrip("/")
        self.image_url = image_url.rstrip("/")
        self.limiter = limiter
        self.max_retries = max_retries
        self.backoff = backoff
        self.stats = RequestStats()
        self._sleep = sleep
        self._rng = random.Random(seed)
        limits = httpx.Limits(max_connections=concurrency + 1, max_keepalive_connections=concurrency + 1)
        common = dict(timeout=httpx.Timeout(timeout), limits=limits, follow_redirects=True)
        self._api = httpx.Client(headers={"Accept": "application/json", **credentials.headers()}, **common)
        self._cdn = httpx.Client(**common)      # the image CDN needs no credentials: none are sent there
        self._filter = RedactingFilter(credentials)
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).addFilter(self._filter)

    def close(self):
        self._api.close()
        self._cdn.close()
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).removeFilter(self._filter)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def get_json(self, path: str, **params) -> dict:
        """GET ``api_url + path`` with the credentials; the decoded JSON object."""
        params = {k: v for k, v in params.items() if v is not None}
        return self._get(self._api, self.api_url + path, path, {**params, **self.credentials.params()}, True)

    def get_image(self, size: str, poster_path: str) -> bytes:
        """The image CDN's bytes for ``poster_path`` at ``size`` (no credentials are sent there)."""
        path = f"/{size}/{poster_path.lstrip('/')}"
        return self._get(self._cdn, self.image_url + path, path, {}, False)

    def _backoff(self, attempt):
        return self._rng.uniform(0, min(MAX_BACKOFF, self.backoff * 2 ** attempt))

    def _get(self, http, url, path, params, want_json):
        redact = self.credentials.redact
        attempt = 0
        while True:
            self.limiter.acquire()
            self.stats.count("requests")
            cause, wait = None, None
            try:
                status, headers, body = _fetch(http, url, params)
            except httpx.TimeoutException:
                cause, detail = "timeout", f"{path}: no answer within the timeout"
            except httpx.TransportError as exc:
                cause, detail = "connection", f"{path}: {type(exc).__name__}: {redact(exc)}"
            else:
                if status == 401:
                    raise TmdbAuthError(f"TMDb refused the credentials from {self.credentials.source} (HTTP 401 on "
                                        f"{path}): check the key or token at https://www.themoviedb.org/settings/api")
                if status == 404:
                    self.stats.count("failures", "http_404")
                    raise TmdbNotFoundError("http_404", f"{path}: not found")
                if status == 429:
                    cause, detail = "http_429", f"{path}: rate limited"
                    wait = retry_after_seconds(headers.get("Retry-After"))
                    self.limiter.pause(wait)
                elif status >= 500:
                    cause, detail = f"http_{status}", f"{path}: server error {status}"
                elif status >= 400 or body is None:
                    kind = "too_large" if body is None else f"http_{status}"
                    self.stats.count("failures", kind)
                    raise TmdbRequestError(kind, redact(f"{path}: {_tmdb_message(status, body)}"))
                elif not want_json:
                    return body
                elif (document := _json_object(body)) is None:
                    cause, detail = "bad_json", f"{path}: the answer is not a JSON object"
                else:
                    return document
            if attempt >= self.max_retries:
                self.stats.count("failures", cause)
                raise TmdbRequestError(cause, f"{detail} (gave up after {attempt + 1} attempts)")
            self.stats.count("retries", cause)
            if wait is None:        # a 429 already paused the shared bucket
                self._sleep(self._backoff(attempt))
            attempt += 1


def _fetch(http, url, params):
    """(status, headers, body); body None when it is over MAX_BODY (read no further than that)."""
    with http.stream("GET", url, params=params) as response:
        if int(response.headers.get("Content-Length") or 0) > MAX_BODY:
            return response.status_code, response.headers, None
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > MAX_BODY:
                return response.status_code, response.headers, None
            chunks.append(chunk)
        return response.status_code, response.headers, b"".join(chunks)


def _json_object(body):
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None
    return document if isinstance(document, dict) else None


def _tmdb_message(status, body) -> str:
    """TMDb's own ``status_message`` when the error body has one."""
    if body is None:
        return f"HTTP {status}, answer over {MAX_BODY // 2**20} MiB: not read"
    document = _json_object(body) or {}
    return f"HTTP {status}: {document.get('status_message') or body[:200].decode('utf-8', 'replace')}"[:300]
