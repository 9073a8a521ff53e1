"""A fake TMDb on loopback: real HTTP (http.server), deterministic JSON and JPEGs made on the fly.

It serves the four endpoints fetch-tmdb uses (``/3/genre/movie/list``, ``/3/discover/movie``,
``/3/movie/{id}``, ``/t/p/{size}/{file}``) with TMDb's shapes, its 20-result pages and its
500-page limit, checks the credentials like TMDb (401 otherwise), logs every request with its
arrival time, and injects faults:

* ``server.inject(path_regex, *faults)``: the next requests whose path matches get these
  faults, one each, in order (``Fault(429, retry_after=1)``, ``Fault(500)``, ``Fault(delay=2)``,
  ``Fault(truncate=True)``, ``Fault(html=True)``);
* ``server.bad_posters[movie_id] = "truncated" | "html" | "missing"``: that poster is always bad;
* ``server.movies_per_year[year] = n`` and ``server.max_pages``: shape of the catalogue.

Run it by hand for a demo: ``python -m tests.fake_tmdb`` prints the URLs and a key.
"""

import datetime as dt
import functools
import io
import json
import math
import re
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import numpy as np
from PIL import Image

GENRES = {28: "Action", 12: "Adventure", 16: "Animation", 35: "Comedy", 80: "Crime", 99: "Documentary",
          18: "Drama", 10751: "Family", 14: "Fantasy", 36: "History", 27: "Horror", 10402: "Music",
          9648: "Mystery", 10749: "Romance", 878: "Science Fiction", 10770: "TV Movie", 53: "Thriller",
          10752: "War", 37: "Western"}
WORDS = ("space ship alien laser planet love kiss heart wedding murder ghost blood cowboy horse sheriff gun "
         "family dog laugh party war soldier detective city night dance song").split()
PAGE_SIZE = 20
KEY = "fake0123456789abcdef0123456789ab"
TOKEN = "eyJhbGciOiJIUzI1NiJ9.fake-read-access-token.c2lnbmF0dXJl"


@dataclass
class Fault:
    status: int = None         # answer this status instead (with a TMDb-shaped error body)
    retry_after: str = None    # Retry-After header for a 429
    delay: float = 0.0         # wait this long before answering
    truncate: bool = False     # an image cut in half (Content-Length matches the cut bytes)
    html: bool = False         # an HTML page served as 200 where an image or JSON was asked
    body: bytes = None         # this exact body with status 200


def movie_ids(year, n):
    return [year * 100_000 + i for i in range(n)]


@functools.lru_cache(maxsize=None)
def _year_movies(year, n):
    return tuple(fake_movie(i) for i in movie_ids(year, n))


def fake_movie(movie_id):
    """Deterministic fields of movie ``movie_id`` (year * 100000 + rank)."""
    year, rank = divmod(movie_id, 100_000)
    rng = np.random.default_rng(movie_id)
    day = dt_day(year, rank)
    gids = sorted(GENRES)
    return {"id": movie_id, "title": f"Movie {year}-{rank}", "original_title": f"Movie {year}-{rank}",
            "release_date": day, "genre_ids": [gids[int(i)] for i in rng.choice(len(gids), 2, replace=False)],
            "overview": " ".join(rng.choice(WORDS, 14)), "poster_path": f"/p{movie_id}.jpg",
            "vote_count": 100000 - rank, "vote_average": 6.5, "original_language": "en", "popularity": 1.0,
            "adult": False, "video": False, "backdrop_path": None}


def dt_day(year, rank):
    return (dt.date(year, 1, 1) + dt.timedelta(days=(rank * 37) % 365)).isoformat()


def fake_jpeg(movie_id, size=(40, 60)):
    rng = np.random.default_rng(movie_id)
    pixels = (rng.random((size[1], size[0], 3)) * 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, "JPEG", quality=80)
    return buf.getvalue()


class FakeTmdb:
    def __init__(self, movies_per_year=None, default_per_year=45, max_pages=500):
        self.movies_per_year = dict(movies_per_year or {})
        self.default_per_year = default_per_year
        self.max_pages = max_pages
        self.no_poster = set()                 # movie ids TMDb has no poster for
        self.bad_posters = {}                  # movie id -> "truncated" | "html" | "missing"
        self.gone = set()                      # movie ids whose details answer 404
        self.log = []                          # (arrival time.monotonic(), path, status)
        self.queries = []                      # (path, query dict), in the same order
        self._faults = []                      # [(compiled regex, deque of Fault)]
        self._matches = {}                     # discover query -> sorted matching movies
        self._lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def api_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}/3"

    @property
    def image_url(self):
        return f"http://127.0.0.1:{self._server.server_address[1]}/t/p"

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._server.shutdown()
        self._server.server_close()

    def inject(self, path_regex, *faults):
        with self._lock:
            self._faults.append((re.compile(path_regex), deque(faults)))

    def take_fault(self, path):
        with self._lock:
            for regex, queue in self._faults:
                if queue and regex.search(path):
                    return queue.popleft()
        return None

    def record(self, path, query, status, when):
        with self._lock:
            self.log.append((when, path, status))
            self.queries.append((path, query))

    def requests_to(self, regex):
        with self._lock:
            return [entry for entry in self.log if re.search(regex, entry[1])]

    # -- the catalogue --------------------------------------------------------------
    def year_ids(self, year):
        return movie_ids(year, self.movies_per_year.get(year, self.default_per_year))

    def discover(self, query):
        lo, hi = query.get("primary_release_date.gte"), query.get("primary_release_date.lte")
        year = query.get("primary_release_year")
        years = range(int(year), int(year) + 1) if year else range(int(lo[:4]), int(hi[:4]) + 1)
        min_votes = int(query.get("vote_count.gte") or 0)
        key = (tuple((y, self.movies_per_year.get(y, self.default_per_year)) for y in years), lo, hi, min_votes)
        movies = self._matches.get(key)
        if movies is None:
            movies = [m for y, n in key[0] for m in _year_movies(y, n)
                      if (not lo or m["release_date"] >= lo) and (not hi or m["release_date"] <= hi)
                      and m["vote_count"] >= min_votes]
            movies.sort(key=lambda m: (-m["vote_count"], m["id"]))
            self._matches[key] = movies
        page = int(query.get("page") or 1)
        if page < 1 or page > self.max_pages:
            return 400, {"success": False, "status_code": 22,
                         "status_message": f"Invalid page: Pages start at 1 and max at {self.max_pages}."}
        pages = math.ceil(len(movies) / PAGE_SIZE)
        results = [dict(m) for m in movies[(page - 1) * PAGE_SIZE: page * PAGE_SIZE]]
        for m in results:
            if m["id"] in self.no_poster:
                m["poster_path"] = None
        return 200, {"page": page, "results": results,
                     "total_pages": pages, "total_results": len(movies)}

    def details(self, movie_id):
        year, rank = divmod(movie_id, 100_000)
        if movie_id in self.gone or rank >= self.movies_per_year.get(year, self.default_per_year):
            return 404, {"success": False, "status_code": 34, "status_message": "The resource you requested "
                                                                                "could not be found."}
        m = fake_movie(movie_id)
        m["genres"] = [{"id": g, "name": GENRES[g]} for g in m.pop("genre_ids")]
        m["imdb_id"] = f"tt{movie_id:07d}"
        if movie_id in self.no_poster:
            m["poster_path"] = None
        return 200, m


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        """A client that timed out and hung up is expected here; anything else is printed."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def _handler(fake):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True     # headers and body go out as two writes: no 40 ms delayed-ACK stalls

        def log_message(self, *args):
            pass

        def _send(self, status, body, ctype="application/json", headers=()):
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status, obj, headers=()):
            self._send(status, json.dumps(obj).encode(), headers=headers)

        def do_GET(self):
            when = time.monotonic()
            url = urlsplit(self.path)
            path = url.path
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            status = self._answer(path, query)
            fake.record(path, query, status, when)

        def _answer(self, path, query):
            fault = fake.take_fault(path)
            if fault and fault.delay:
                time.sleep(fault.delay)
            if path.startswith("/t/p/"):
                return self._image(path, fault)
            if query.get("api_key") != KEY and self.headers.get("Authorization") != f"Bearer {TOKEN}":
                self._json(401, {"success": False, "status_code": 7,
                                 "status_message": "Invalid API key: You must be granted a valid key."})
                return 401
            if fault and fault.status:
                headers = [("Retry-After", fault.retry_after)] if fault.retry_after else []
                self._json(fault.status, {"success": False, "status_code": 25,
                                          "status_message": "Your request count is over the allowed limit."
                                          if fault.status == 429 else "Internal error."}, headers)
                return fault.status
            if fault and (fault.html or fault.body is not None):
                self._send(200, fault.body if fault.body is not None else b"<html>oops</html>", "text/html")
                return 200
            if path == "/3/genre/movie/list":
                status, body = 200, {"genres": [{"id": k, "name": v} for k, v in GENRES.items()]}
            elif path == "/3/discover/movie":
                status, body = fake.discover(query)
            elif m := re.fullmatch(r"/3/movie/(\d+)", path):
                status, body = fake.details(int(m.group(1)))
            else:
                status, body = 404, {"success": False, "status_code": 34, "status_message": "not found"}
            self._json(status, body)
            return status

        def _image(self, path, fault):
            m = re.fullmatch(r"/t/p/(w\d+|original)/p(\d+)\.jpg", path)
            if not m:
                self._send(404, b"not found", "text/plain")
                return 404
            if fault and fault.status:
                self._send(fault.status, b"error", "text/plain")
                return fault.status
            movie_id = int(m.group(2))
            bad = fake.bad_posters.get(movie_id)
            if bad == "missing":
                self._send(404, b"not found", "text/plain")
                return 404
            if bad == "html" or (fault and fault.html):
                self._send(200, b"<!DOCTYPE html><html><body>Cloudflare says no</body></html>", "image/jpeg")
                return 200
            data = fake_jpeg(movie_id)
            if bad == "truncated" or (fault and fault.truncate):
                data = data[: len(data) // 2]
            self._send(200, data, "image/jpeg")
            return 200

    return Handler


if __name__ == "__main__":
    with FakeTmdb() as server:
        print(f"TMDB_API_KEY={KEY}\n--api-url {server.api_url} --image-url {server.image_url}\nCtrl-C to stop")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
