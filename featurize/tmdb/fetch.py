"""fetch_tmdb: grow a training catalog from TMDb, resumably, within its rate limit.

Order of work: the genre list; page 1 of every year still to do (so the progress bar knows
its total); posters that failed in an earlier run; then year by year, discover pages in the
main thread and each new movie (details when IMDb ids are asked, poster) on a pool of
``concurrency`` threads. Outcomes are recorded by the main thread only, and a checkpoint
(fetch.json, then movies.csv, both atomic) is written every ``checkpoint_every`` movies and
at the end of each year, so ``kill -9`` loses at most the movies since the last checkpoint,
and their posters, already on disk, are not downloaded again.
"""

import concurrent.futures as cf
import dataclasses
import datetime as dt
import os
import time
from collections import Counter
from dataclasses import dataclass, field

from store import atomic

from ..errors import PosterError
from ..progress import no_progress
from .catalog import CATALOG, write_catalog
from .client import TmdbClient
from .credentials import load_credentials
from .discover import SORT_BY, DiscoverQuery, iter_rows, plan_year
from .errors import FetchDirError, FetchOptionsError, TmdbNotFoundError, TmdbRequestError
from .genres import genre_names as fetch_genre_names
from .manifest import FetchManifest, load_manifest, manifest_path, save_manifest
from .movies import BadRow, apply_details, movie_from_discover
from .posters import download_poster, have_poster, poster_relpath, remove_stale_poster_temps
from .ratelimit import TokenBucket

DEFAULT_API_URL = "https://api.themoviedb.org/3"
DEFAULT_IMAGE_URL = "https://image.tmdb.org/t/p"
POSTER_SIZES = ("w92", "w154", "w185", "w342", "w500", "w780", "original")


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


@dataclass
class FetchOptions:
    years: list
    per_year: int = None              # None: every movie TMDb has for the year
    language: str = "en-US"
    poster_size: str = "w185"
    min_votes: int = 0
    imdb_ids: bool = False            # one movie/{id} request per movie
    concurrency: int = 4
    rate: float = 40.0                # requests per second, all requests together
    api_url: str = DEFAULT_API_URL
    image_url: str = DEFAULT_IMAGE_URL
    timeout: float = 30.0
    max_retries: int = 5
    backoff: float = 0.5              # seconds; doubled each retry, with full jitter
    checkpoint_every: int = 50
    credentials_file: str = None

    def query(self) -> dict:
        return {"language": self.language, "poster_size": self.poster_size, "min_votes": self.min_votes,
                "sort_by": SORT_BY, "imdb_ids": self.imdb_ids}

    def asked(self) -> dict:
        years = list(self.years)
        span = f"{years[0]}-{years[-1]}" if years == list(range(years[0], years[-1] + 1)) else years
        return {"years": span, "per_year": self.per_year, "concurrency": self.concurrency, "rate": self.rate}

    def check(self):
        if not self.years:
            raise FetchOptionsError("no years to fetch")
        if self.poster_size not in POSTER_SIZES:
            raise FetchOptionsError(f"poster size {self.poster_size!r} is not one of {', '.join(POSTER_SIZES)}")
        if self.per_year is not None and self.per_year < 1 or self.concurrency < 1 or self.rate <= 0:
            raise FetchOptionsError("--per-year and --concurrency must be at least 1 and --rate positive")


@dataclass
class FetchSummary:
    out_dir: str
    movies: int = 0                   # rows in movies.csv
    new: int = 0                      # movies added by this run
    posters_downloaded: int = 0
    posters_already: int = 0          # on disk from an earlier (possibly killed) run: not downloaded again
    no_poster: int = 0                # TMDb has no poster for the movie
    poster_problems: list = field(default_factory=list)   # (id, kind, detail): row kept without a poster
    skipped: list = field(default_factory=list)           # (id, reason, detail): row not in the catalog
    requests: dict = field(default_factory=dict)          # RequestStats.to_dict()
    years_complete: list = field(default_factory=list)
    years_incomplete: dict = field(default_factory=dict)  # year -> why
    years_truncated: list = field(default_factory=list)
    seconds: float = 0.0
    interrupted: bool = False

    @property
    def catalog(self) -> str:
        return os.path.join(self.out_dir, CATALOG)

    @property
    def manifest(self) -> str:
        return manifest_path(self.out_dir)

    @property
    def request_rate(self) -> float:
        return self.requests.get("requests", 0) / self.seconds if self.seconds else 0.0

    def to_dict(self) -> dict:
        def kinds(rows):
            return dict(sorted(Counter(kind for _, kind, _ in rows).items()))
        return {"movies": self.movies, "new": self.new, "posters_downloaded": self.posters_downloaded,
                "posters_already": self.posters_already, "no_poster": self.no_poster,
                "poster_problems": kinds(self.poster_problems), "skipped": kinds(self.skipped),
                **self.requests, "years_complete": self.years_complete,
                "years_incomplete": {str(k): v for k, v in self.years_incomplete.items()},
                "years_truncated": self.years_truncated, "seconds": round(self.seconds, 1),
                "interrupted": self.interrupted}


@dataclass
class _Outcome:
    movie: object
    poster: str = "none"              # downloaded | already | none | failed
    skip: tuple = None                # (reason, detail): the movie is not recorded
    permanent: bool = False           # the skip will not change on a re-run (404)


def fetch_tmdb(out_dir, options: FetchOptions, credentials=None, progress=no_progress) -> FetchSummary:
    """Fetch ``options.years`` from TMDb into ``out_dir`` (movies.csv, posters/, fetch.json); never prints."""
    options.check()
    credentials = credentials or load_credentials(options.credentials_file)
    out_dir = os.path.abspath(out_dir)
    try:
        os.makedirs(os.path.join(out_dir, "posters"), exist_ok=True)
    except OSError as exc:
        raise FetchDirError(f"cannot create {out_dir}/posters: {exc.strerror}") from None
    lock = atomic.WriterLock(manifest_path(out_dir))
    lock.acquire()
    try:
        for name in (manifest_path(out_dir), os.path.join(out_dir, CATALOG)):
            atomic.remove_stale_temps(name)
        remove_stale_poster_temps(out_dir)
        manifest = load_manifest(out_dir, options.query()) or FetchManifest(options.query(), created_at=now())
        manifest.api_url, manifest.image_url = options.api_url, options.image_url
        limiter = TokenBucket(options.rate, burst=min(options.rate, options.concurrency))
        with TmdbClient(credentials, options.api_url, options.image_url, limiter, timeout=options.timeout,
                        max_retries=options.max_retries, backoff=options.backoff,
                        concurrency=options.concurrency) as client:
            return _Run(out_dir, options, manifest, client, progress).run()
    finally:
        lock.release()


class _Run:
    def __init__(self, out_dir, options, manifest, client, progress):
        self.out, self.opts, self.manifest, self.client, self.progress = out_dir, options, manifest, client, progress
        self.query = DiscoverQuery(options.language, options.min_votes)
        self.summary = FetchSummary(out_dir)
        self.have = Counter(m.year for m in manifest.movies.values())
        self.since_checkpoint = 0
        self.bar = None
        self.genres = {}
        self.year_failed = False          # why the year being fetched cannot be marked complete

    def run(self) -> FetchSummary:
        started = time.monotonic()
        record = {"asked": self.opts.asked(), "started_at": now(), "finished_at": None}
        self.manifest.runs.append(record)
        pool = cf.ThreadPoolExecutor(max_workers=self.opts.concurrency, thread_name_prefix="fetch-tmdb")
        try:
            self.genres = fetch_genre_names(self.client)
            plans = self._plan()
            self.bar = self.progress("fetch-tmdb", self._expected(plans))
            self._retry_posters(pool)
            for year, plan in plans.items():
                self._year(pool, plan)
        except BaseException:
            self.summary.interrupted = True
            pool.shutdown(wait=True, cancel_futures=True)
            raise
        finally:
            pool.shutdown(wait=True)
            self.summary.seconds = time.monotonic() - started
            self.summary.requests = self.client.stats.to_dict()
            self.summary.movies = len(self.manifest.movies)
            self.summary.years_complete.sort()
            if not self.summary.interrupted:
                record["finished_at"] = now()
            record["summary"] = self.summary.to_dict()
            self._checkpoint()
            if self.bar is not None:
                self.bar.close()
        return self.summary

    # -- planning ------------------------------------------------------------------
    def _plan(self) -> dict:
        plans = {}
        for year in self.opts.years:
            if self.manifest.year_done(year, self.opts.per_year):
                self.summary.years_complete.append(year)
                continue
            try:
                plans[year] = plan_year(self.client, year, self.query)
            except TmdbRequestError as exc:
                self._incomplete(year, f"discover page 1: {exc}")
        return plans

    def _expected(self, plans) -> int:
        target = self.opts.per_year
        todo = sum(max(0, min(p.available, target or p.available) - self.have[y]) for y, p in plans.items())
        return todo + len(self._poster_retries())

    def _incomplete(self, year, why):
        self.summary.years_incomplete[year] = why
        entry = self.manifest.years.setdefault(str(year), {})
        entry.update(complete=False, error=why)

    # -- work ----------------------------------------------------------------------
    def _poster_retries(self) -> list:
        years = set(self.opts.years)
        return [m for m in self.manifest.movies.values() if m.poster_problem and m.year in years]

    def _retry_posters(self, pool):
        inflight = {pool.submit(self._fetch_movie, m): m for m in self._poster_retries()}
        self._drain(inflight, everything=True)

    def _year(self, pool, plan):
        year, target = plan.year, self.opts.per_year
        inflight, seen = {}, set()
        self.year_failed = False
        try:
            for row in iter_rows(self.client, plan, self.query, wanted=target):
                if target is not None and self.have[year] + len(inflight) >= target:
                    self._drain(inflight, everything=True)
                    if self.have[year] >= target:
                        break
                try:
                    movie = movie_from_discover(row, year, self.genres)
                except BadRow as exc:
                    self.summary.skipped.append(("?", "bad_row", f"{year}: {exc}"))
                    continue
                if movie.id in seen or movie.id in self.manifest.movies or str(movie.id) in self.manifest.skipped:
                    continue
                seen.add(movie.id)
                inflight[pool.submit(self._fetch_movie, movie)] = movie
                if len(inflight) >= 2 * self.opts.concurrency:
                    self._drain(inflight, everything=False)
        except TmdbRequestError as exc:
            self.year_failed = f"discover: {exc}"
        finally:
            self._drain(inflight, everything=True)
        if self.year_failed:
            self._incomplete(year, self.year_failed)
        else:
            self.summary.years_complete.append(year)
            self.manifest.years[str(year)] = {"complete": True, "target": target, "available": plan.available,
                                              "truncated": plan.truncated, "finished_at": now()}
            if plan.truncated:
                self.summary.years_truncated.append(year)
        self._checkpoint()

    def _drain(self, inflight, everything):
        """Record finished movies: all in flight (``everything``) or at least one."""
        while inflight:
            done, _ = cf.wait(inflight, return_when=cf.ALL_COMPLETED if everything else cf.FIRST_COMPLETED)
            for future in done:
                inflight.pop(future)
                self._record(future.result())       # TmdbAuthError (and bugs) surface here
            if not everything:
                return

    def _record(self, outcome: _Outcome):
        movie, s = outcome.movie, self.summary
        self.bar.update(1)
        if outcome.skip:
            reason, detail = outcome.skip
            s.skipped.append((movie.id, reason, detail))
            if outcome.permanent:
                self.manifest.skipped[str(movie.id)] = {"reason": reason, "detail": detail, "year": movie.year}
            else:
                self.year_failed = self.year_failed or f"movie {movie.id}: {reason}: {detail}"
            return
        if movie.id not in self.manifest.movies:
            s.new += 1
            self.have[movie.year] += 1
        self.manifest.movies[movie.id] = movie
        if outcome.poster == "downloaded":
            s.posters_downloaded += 1
        elif outcome.poster == "already":
            s.posters_already += 1
        elif outcome.poster == "none":
            s.no_poster += 1
        else:
            s.poster_problems.append((movie.id, movie.poster_problem["kind"], movie.poster_problem["detail"]))
        self.since_checkpoint += 1
        if self.since_checkpoint >= self.opts.checkpoint_every:
            self._checkpoint()

    def _checkpoint(self):
        self.manifest.updated_at = now()
        save_manifest(self.out, self.manifest)
        write_catalog(self.out, self.manifest.movies.values(), self.opts.imdb_ids)
        self.since_checkpoint = 0

    # -- one movie, on a worker thread ---------------------------------------------------
    def _fetch_movie(self, movie) -> _Outcome:
        movie = dataclasses.replace(movie)    # the main thread may be writing the manifest's copy
        try:
            if self.opts.imdb_ids and movie.imdb_id is None:
                details = self.client.get_json(f"/movie/{movie.id}", language=self.opts.language)
                apply_details(movie, details, self.genres)
        except TmdbNotFoundError as exc:
            return _Outcome(movie, skip=("not_found", f"movie/{movie.id}: {exc.detail}"), permanent=True)
        except TmdbRequestError as exc:
            return _Outcome(movie, skip=("request_failed", f"movie/{movie.id}: {exc}"))
        movie.poster, movie.poster_problem, movie.fetched_at = "", None, now()
        if not movie.poster_path:
            return _Outcome(movie, "none")
        if have_poster(self.out, movie.id):
            movie.poster = poster_relpath(movie.id)
            return _Outcome(movie, "already")
        try:
            movie.poster = download_poster(self.client, self.out, movie.id, movie.poster_path, self.opts.poster_size)
            return _Outcome(movie, "downloaded")
        except (PosterError, TmdbRequestError) as exc:
            movie.poster_problem = {"kind": exc.kind, "detail": exc.detail}
            return _Outcome(movie, "failed")
