"""fetch-tmdb against a fake TMDb on loopback: catalog, faults, rate limit, resume after kill -9, secrecy."""

import csv
import json
import logging
import os
import signal
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from featurize.tmdb import FetchOptions, fetch_tmdb
from featurize.tmdb.credentials import Credentials
from featurize.tmdb.discover import DiscoverQuery, iter_rows, plan_year
from featurize.tmdb.errors import FetchDirError, TmdbAuthError
from featurize.tmdb.manifest import ATTRIBUTION
from classifiers.modeldir import ModelDir
from onesheet import main
from store.catalog import read_catalog
from tests.fake_tmdb import KEY, TOKEN, FakeTmdb, Fault

ROOT = Path(__file__).resolve().parents[1]
API_KEY = Credentials("api_key", KEY, "test")


@pytest.fixture
def fake():
    with FakeTmdb() as server:
        yield server


def options(fake, years=(1950,), **kw):
    kw = {"per_year": 10, "rate": 500.0, "backoff": 0.01, "api_url": fake.api_url, "image_url": fake.image_url, **kw}
    return FetchOptions(years=list(years), **kw)


def rows_of(out):
    with open(Path(out) / "movies.csv", newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def temp_files(out):
    return [str(p) for p in Path(out).rglob("*") if ".tmp-" in p.name]


def poster_hits(fake):
    hits = {}
    for _, path, _ in fake.requests_to(r"^/t/p/"):
        hits[path] = hits.get(path, 0) + 1
    return hits


def test_end_to_end_cli_writes_a_catalog_ingest_accepts(fake, tmp_path):
    fake.no_poster.add(195000002)
    out = tmp_path / "cat"
    env = {"TMDB_API_KEY": KEY, "TMDB_TOKEN": "", "TMDB_API_URL": fake.api_url, "TMDB_IMAGE_URL": fake.image_url}
    r = CliRunner().invoke(main, ["fetch-tmdb", "--out", str(out), "--years", "1950-1951", "--per-year", "12",
                                  "--imdb-ids", "--rate", "500", "--quiet"], env=env)
    assert r.exit_code == 0, r.output
    assert "24 movies (24 new)" in r.output and "23 downloaded" in r.output and ATTRIBUTION in r.output
    rows = rows_of(out)
    assert len(rows) == 24 and len({row["id"] for row in rows}) == 24
    first = rows[0]
    assert first["id"] == first["tmdb_id"] == "195000000" and first["imdb_id"] == "tt195000000"
    assert first["year"] == "1950" and first["poster"] == "posters/195000000.jpg" and first["original_language"] == "en"
    assert (out / first["poster"]).stat().st_size > 0 and first["vote_count"] == "100000"
    catalog_rows, report, id_column = read_catalog(out / "movies.csv")
    assert id_column == "id" and report.rows_kept == 24
    assert report.counts() == {"missing_poster": 1}          # the movie TMDb has no poster for
    assert all(row.genres for row in catalog_rows)          # TMDb genre ids mapped to onesheet's names
    manifest = json.loads((out / "fetch.json").read_text())
    assert manifest["attribution"] == ATTRIBUTION and "do not redistribute" in manifest["terms"]
    assert manifest["runs"][0]["asked"]["years"] == "1950-1951" and manifest["runs"][0]["finished_at"]
    assert manifest["years"]["1951"]["complete"] and manifest["format_version"] == 1
    assert temp_files(out) == []


def test_rerun_fetches_nothing_and_wider_years_only_the_new_ones(fake, tmp_path):
    out = tmp_path / "cat"
    first = fetch_tmdb(out, options(fake, [1950]), credentials=API_KEY)
    assert first.new == 10 and first.posters_downloaded == 10
    n = len(fake.log)
    again = fetch_tmdb(out, options(fake, [1950]), credentials=API_KEY)
    assert again.new == 0 and again.posters_downloaded == 0
    assert [p for _, p, _ in fake.log[n:]] == ["/3/genre/movie/list"]   # no discover, no poster
    n = len(fake.log)
    wider = fetch_tmdb(out, options(fake, [1950, 1951]), credentials=API_KEY)
    assert wider.new == 10 and wider.movies == 20
    discovered = [q["primary_release_date.gte"] for p, q in fake.queries[n:] if p == "/3/discover/movie"]
    assert discovered and all(day.startswith("1951") for day in discovered)     # 1950 is done: not asked again
    assert all(hits == 1 for hits in poster_hits(fake).values())
    more = fetch_tmdb(out, options(fake, [1950, 1951], per_year=15), credentials=API_KEY)
    assert more.new == 10 and more.movies == 30 and len(poster_hits(fake)) == 30
    assert all(hits == 1 for hits in poster_hits(fake).values())
    assert len(rows_of(out)) == 30 and len(fake.log) > n


def test_other_settings_into_the_same_folder_are_refused(fake, tmp_path):
    out = tmp_path / "cat"
    fetch_tmdb(out, options(fake), credentials=API_KEY)
    with pytest.raises(FetchDirError, match="poster_size: 'w185' there, 'w342' now"):
        fetch_tmdb(out, options(fake, poster_size="w342"), credentials=API_KEY)
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "movies.csv").write_text("id,title\n1,x\n")
    with pytest.raises(FetchDirError, match="not written by fetch-tmdb"):
        fetch_tmdb(foreign, options(fake), credentials=API_KEY)
    assert (foreign / "movies.csv").read_text() == "id,title\n1,x\n"


def test_bad_posters_are_reported_per_row_and_never_saved(fake, tmp_path):
    fake.bad_posters.update({195000001: "truncated", 195000002: "html", 195000003: "missing"})
    fake.inject(r"/p195000004\.jpg", *[Fault(500)] * 3)         # 3 attempts with --max-retries 2: gives up
    fake.gone.add(195000005)                                    # details 404: the movie is skipped
    out = tmp_path / "cat"
    s = fetch_tmdb(out, options(fake, imdb_ids=True, max_retries=2), credentials=API_KEY)
    problems = {movie_id: kind for movie_id, kind, _ in s.poster_problems}
    assert problems == {195000001: "truncated", 195000002: "not_an_image", 195000003: "http_404",
                        195000004: "http_500"}
    assert [(m, reason) for m, reason, _ in s.skipped] == [(195000005, "not_found")]
    assert s.movies == 10 and s.posters_downloaded == 6     # per-year 10 reached despite the skipped movie
    on_disk = sorted(p.name for p in (out / "posters").iterdir())
    assert len(on_disk) == 6 and not {f"{m}.jpg" for m in problems} & set(on_disk)
    rows = {row["id"]: row for row in rows_of(out)}
    assert rows["195000001"]["poster"] == "" and "195000005" not in rows
    assert s.requests["retries"]["http_500"] == 2 and temp_files(out) == []
    # a re-run retries the bad posters (now fixed) but not the movie TMDb does not have
    fake.bad_posters.clear()
    again = fetch_tmdb(out, options(fake, imdb_ids=True), credentials=API_KEY)
    assert again.posters_downloaded == 4 and again.poster_problems == [] and again.skipped == []
    assert len(list((out / "posters").iterdir())) == 10
    assert not fake.requests_to(r"/3/movie/195000005$")[1:]     # asked once, in the first run only


def test_5xx_timeouts_and_bad_json_are_retried_and_counted(fake, tmp_path):
    fake.inject(r"^/3/discover", Fault(503), Fault(delay=1.5), Fault(body=b"<html>proxy</html>"))
    fake.inject(r"^/3/movie/", Fault(500), Fault(502))
    fake.inject(r"^/t/p/", Fault(delay=1.5))
    s = fetch_tmdb(tmp_path / "cat", options(fake, imdb_ids=True, timeout=0.5), credentials=API_KEY)
    assert s.movies == 10 and s.posters_downloaded == 10 and not s.years_incomplete
    assert s.requests["retries"] == {"http_503": 1, "timeout": 2, "bad_json": 1, "http_500": 1, "http_502": 1}


def test_a_discover_page_that_keeps_failing_leaves_the_year_to_a_rerun(fake, tmp_path):
    fake.movies_per_year[1950] = 30
    fake.inject(r"^/3/discover", Fault(), Fault(), *[Fault(500)] * 3)   # pages 1 fine, 1950's page 2 fails for good
    out = tmp_path / "cat"
    s = fetch_tmdb(out, options(fake, [1950, 1951], per_year=None, max_retries=2), credentials=API_KEY)
    assert 1950 in s.years_incomplete and "http_500" in s.years_incomplete[1950]
    assert s.years_complete == [1951] and s.movies == 20 + 45      # page 1 of 1950 and all of 1951 kept
    again = fetch_tmdb(out, options(fake, [1950, 1951], per_year=None), credentials=API_KEY)
    assert again.new == 10 and again.years_complete == [1950, 1951] and again.movies == 30 + 45
    assert all(hits == 1 for hits in poster_hits(fake).values())


def test_429_pauses_every_worker_for_retry_after(fake, tmp_path):
    fake.inject(r"^/t/p/", Fault(), Fault(), Fault(), Fault(429, retry_after="1"))
    s = fetch_tmdb(tmp_path / "cat", options(fake, per_year=30, rate=100, concurrency=4), credentials=API_KEY)
    assert s.movies == 30 and s.posters_downloaded == 30 and s.requests["retries"] == {"http_429": 1}
    (t429,) = [t for t, _, status in fake.log if status == 429]
    # requests already on their way when the 429 reached the client may land just after it; then
    # nobody sends anything until Retry-After has passed (26 posters were still to fetch, ~0.3 s of work)
    assert not [t for t, _, _ in fake.log if t429 + 0.25 < t < t429 + 0.95]
    assert len([t for t, _, _ in fake.log if t >= t429 + 0.95]) >= 20


def test_request_rate_never_exceeds_the_limit(fake, tmp_path):
    rate, concurrency = 25.0, 4
    s = fetch_tmdb(tmp_path / "cat", options(fake, [1950, 1951], per_year=20, rate=rate, concurrency=concurrency),
                   credentials=API_KEY)
    times = sorted(t for t, _, _ in fake.log)
    assert s.requests["requests"] == len(times) >= 40
    burst = min(rate, concurrency)
    for i, start in enumerate(times):       # any window of w seconds holds at most burst + rate * w requests
        for j in range(i + 1, len(times)):
            window = times[j] - start
            assert j - i + 1 <= burst + rate * window + 1, (j - i + 1, window)
    assert (len(times) - burst) / (times[-1] - times[0]) <= rate * 1.05


def test_a_year_over_500_pages_is_split_into_date_ranges(fake):
    fake.movies_per_year[1960] = 10_030                          # 502 pages: two more than TMDb serves
    from featurize.tmdb.client import TmdbClient
    from featurize.tmdb.ratelimit import TokenBucket
    with TmdbClient(API_KEY, fake.api_url, fake.image_url, TokenBucket(10_000, 100), backoff=0.01) as client:
        query = DiscoverQuery()
        plan = plan_year(client, 1960, query)
        assert plan.available == 10_030
        ids = [row["id"] for row in iter_rows(client, plan, query)]
        assert len(ids) == len(set(ids)) == 10_030 and not plan.truncated
        assert not [p for _, p, status in fake.log if status == 400]      # never asked for page 501
        few = list(iter_rows(client, plan_year(client, 1960, query), query, wanted=50))[:50]
        assert [row["id"] for row in few] == [196_000_000 + i for i in range(50)]  # 3 pages, no split: most voted


def test_credentials_never_appear_in_logs_files_or_errors(fake, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "cat"
    fake.inject(r"^/3/discover", Fault(500))
    s = fetch_tmdb(out, options(fake, imdb_ids=True), credentials=API_KEY)
    assert s.movies == 10
    assert any("api_key=<redacted>" in r.getMessage() for r in caplog.records)   # httpx logs every URL
    assert not any(KEY in r.getMessage() for r in caplog.records)
    for path in out.rglob("*"):
        if path.is_file():
            assert KEY.encode() not in path.read_bytes(), path
    assert KEY not in repr(API_KEY) and KEY not in str(API_KEY)
    wrong = Credentials("api_key", "0" * 32, "TMDB_API_KEY")
    with pytest.raises(TmdbAuthError) as exc:
        fetch_tmdb(tmp_path / "other", options(fake), credentials=wrong)
    assert "0" * 32 not in str(exc.value) and "TMDB_API_KEY" in str(exc.value)
    env = {"TMDB_API_KEY": "", "TMDB_TOKEN": TOKEN}
    r = CliRunner().invoke(main, ["fetch-tmdb", "--out", str(tmp_path / "tok"), "--years", "1950", "--per-year",
                                  "3", "--api-url", fake.api_url, "--image-url", fake.image_url, "--quiet"], env=env)
    assert r.exit_code == 0 and TOKEN not in r.output
    assert not any(TOKEN in str(p.read_bytes()) for p in (tmp_path / "tok").rglob("*") if p.is_file())
    r = CliRunner().invoke(main, ["fetch-tmdb", "--out", str(tmp_path / "none"), "--years", "1950"],
                           env={"TMDB_API_KEY": "", "TMDB_TOKEN": "", "TMDB_CREDENTIALS_FILE": ""})
    assert r.exit_code == 1 and "TMDB_TOKEN" in r.output and "Traceback" not in r.output


def test_credentials_file(tmp_path, fake):
    from featurize.tmdb.credentials import load_credentials
    path = tmp_path / "tmdb.env"
    path.write_text(f"# my key\nexport TMDB_API_KEY='{KEY}'\n")
    path.chmod(0o600)
    creds = load_credentials(str(path), environ={})
    assert creds.kind == "api_key" and creds.secret == KEY
    path.write_text(TOKEN + "\n")
    assert load_credentials(str(path), environ={}).kind == "token"
    assert load_credentials(None, environ={"TMDB_CREDENTIALS_FILE": str(path)}).secret == TOKEN
    r = CliRunner().invoke(main, ["fetch-tmdb", "--out", str(tmp_path / "c"), "--years", "1950", "--per-year", "2",
                                  "--credentials-file", str(path), "--api-url", fake.api_url,
                                  "--image-url", fake.image_url, "--quiet"], env={"TMDB_API_KEY": "", "TMDB_TOKEN": ""})
    assert r.exit_code == 0, r.output


def test_kill_9_mid_run_then_rerun_finishes_without_refetching(fake, tmp_path):
    out = tmp_path / "cat"
    fake.inject(r"^/t/p/", *[Fault(delay=0.05)] * 1000)            # posters trickle in
    cmd = [sys.executable, "-m", "onesheet", "fetch-tmdb", "--out", str(out), "--years", "1950-1952",
           "--per-year", "40", "--rate", "60", "--quiet", "--api-url", fake.api_url, "--image-url", fake.image_url]
    env = dict(os.environ, TMDB_API_KEY=KEY, TMDB_TOKEN="", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline and proc.poll() is None and len(list((out / "posters").glob("*.jpg"))) < 50:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    saved_before = {p.name for p in (out / "posters").glob("*.jpg")}
    assert 50 <= len(saved_before) < 120
    requests_before = len(fake.log)
    recorded = len(json.loads((out / "fetch.json").read_text())["movies"]) if (out / "fetch.json").exists() else 0
    s = fetch_tmdb(out, options(fake, [1950, 1951, 1952], per_year=40), credentials=API_KEY)
    assert s.movies == 120 and s.years_complete == [1950, 1951, 1952] and not s.poster_problems
    assert s.new == 120 - recorded == s.posters_downloaded + s.posters_already    # checkpointed movies not redone
    assert s.posters_already == len(saved_before) - recorded      # on disk but not yet checkpointed: kept as they are
    rows = rows_of(out)
    assert len(rows) == 120 and len({row["id"] for row in rows}) == 120
    assert all((out / row["poster"]).is_file() for row in rows)
    assert temp_files(out) == []
    fetched_after = {p.rsplit("/", 1)[1].lstrip("p") for _, p, _ in fake.log[requests_before:] if p.startswith("/t/p/")}
    assert not fetched_after & saved_before, "a poster already on disk was downloaded again"
    assert len(list((out / "posters").glob("*.jpg"))) == 120


def test_stale_temporaries_of_a_killed_run_are_removed(fake, tmp_path):
    out = tmp_path / "cat"
    (out / "posters").mkdir(parents=True)
    for stale in (out / ".fetch.json.tmp-99999", out / ".movies.csv.tmp-99999", out / "posters" / ".5.jpg.tmp-99999"):
        stale.write_bytes(b"half")
    fetch_tmdb(out, options(fake, per_year=2), credentials=API_KEY)
    assert temp_files(out) == []


class FakeClock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t

    def sleep(self, seconds):
        self.t += seconds


def test_token_bucket_spaces_requests_and_pauses_for_everyone():
    from featurize.tmdb.ratelimit import TokenBucket
    clock = FakeClock()
    bucket = TokenBucket(10, burst=2, clock=clock, sleep=clock.sleep)
    stamps = []
    for _ in range(12):
        bucket.acquire()
        stamps.append(clock.t)
    assert stamps[:2] == [0.0, 0.0] and stamps[-1] == pytest.approx(1.0)      # burst 2, then 10 per second
    assert all(b - a == pytest.approx(0.1) for a, b in zip(stamps[2:], stamps[3:]))
    bucket.pause(3)
    bucket.acquire()
    assert clock.t == pytest.approx(4.1)                # after the pause the bucket starts empty


def test_retry_after_reads_seconds_and_http_dates():
    from email.utils import formatdate

    from featurize.tmdb.client import retry_after_seconds
    assert retry_after_seconds("2") == 2.0 and retry_after_seconds(None) == 1.0 and retry_after_seconds("x") == 1.0
    assert retry_after_seconds(formatdate(1000 + 5, usegmt=True), now=1000) == pytest.approx(5, abs=1)
    assert retry_after_seconds("99999") == 120.0


def test_bad_years_and_sizes_are_clear_errors(tmp_path):
    r = CliRunner().invoke(main, ["fetch-tmdb", "--out", str(tmp_path), "--years", "1969-1930"],
                           env={"TMDB_API_KEY": KEY})
    assert r.exit_code == 2 and "runs backwards" in r.output
    from featurize.tmdb.discover import YearsError, parse_years
    assert parse_years("1950s, 1931-1932,1931") == [1931, 1932] + list(range(1950, 1960))
    with pytest.raises(YearsError):
        parse_years("1955s")
    from featurize.tmdb import FetchOptionsError
    with pytest.raises(FetchOptionsError, match="poster size"):
        fetch_tmdb(tmp_path / "x", FetchOptions(years=[1950], poster_size="w1000"), credentials=API_KEY)


def test_fetched_1950s_catalog_featurizes_and_fits_unchanged(fake, tmp_path, onnx_cache):
    """The issue's "done when": fetch-tmdb --years 1950-1959 -> featurize -> fit, as a new user would."""
    fake.bad_posters[195300004] = "html"
    env = {"TMDB_API_KEY": KEY, "TMDB_TOKEN": "", "TMDB_API_URL": fake.api_url, "TMDB_IMAGE_URL": fake.image_url}
    out = tmp_path / "vintage"
    r = CliRunner().invoke(main, ["fetch-tmdb", "--out", str(out), "--years", "1950-1959", "--per-year", "16",
                                  "--rate", "500", "--quiet"], env=env)
    assert r.exit_code == 0, r.output
    assert "160 movies (160 new)" in r.output and "not_an_image 1" in r.output
    vectors = tmp_path / "vectors.txt"
    words = sorted({w for row in rows_of(out) for w in row["overview"].split()})
    vectors.write_text("".join(f"{w} " + " ".join(f"{(zlib.crc32(w.encode()) >> i) % 97 / 97:.3f}" for i in range(8)) + "\n"
                               for w in words))
    store = tmp_path / "s.h5"
    r = CliRunner().invoke(main, ["featurize", str(out / "movies.csv"), "--store", str(store), "--word-vectors",
                                  str(vectors), "--quiet"])
    assert r.exit_code == 0, r.output
    assert "159 embedded" in r.output and "missing 1" in r.output      # the HTML "poster" was never saved
    r = CliRunner().invoke(main, ["fit", str(store), "--models", str(tmp_path / "models"), "--head", "svm",
                                  "--features", "poster/efficientnet-lite0+overview/tfidf", "--min-movies", "1000"])
    assert r.exit_code == 0, r.output
    assert ModelDir.open(tmp_path / "models").configs  # a complete, verified model directory


def test_fetch_tmdb_command_stays_light():
    code = ("import sys; from onesheet import main; from click.testing import CliRunner; "
            "CliRunner().invoke(main, ['fetch-tmdb', '--help']); "
            "bad = [m for m in ('torch', 'onnxruntime', 'sklearn', 'faiss') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_second_fetch_into_the_same_folder_is_refused_while_one_runs(fake, tmp_path):
    from store.atomic import WriterLock
    from store.errors import StoreLockedError
    out = tmp_path / "cat"
    out.mkdir()
    held = WriterLock(str(out / "fetch.json"))
    held.acquire()
    try:
        with pytest.raises(StoreLockedError, match="another process"):
            fetch_tmdb(out, options(fake), credentials=API_KEY)
    finally:
        held.release()
    assert fetch_tmdb(out, options(fake, per_year=2), credentials=API_KEY).movies == 2


def test_an_oversized_answer_is_not_read_past_the_limit(fake, monkeypatch):
    from featurize.tmdb import client as client_module
    from featurize.tmdb.errors import TmdbRequestError
    monkeypatch.setattr(client_module, "MAX_BODY", 100)            # the fake's JPEGs are ~2 KB
    limiter = client_module.TokenBucket(1000, 10)
    with client_module.TmdbClient(API_KEY, fake.api_url, fake.image_url, limiter) as client:
        with pytest.raises(TmdbRequestError) as exc:
            client.get_image("w185", "/p195000001.jpg")
        assert exc.value.kind == "too_large" and client.stats.to_dict()["failures"] == {"too_large": 1}


def test_unreadable_inputs_are_named_errors_not_tracebacks(tmp_path, fake):
    """A non-UTF-8 credentials file, an --out that cannot be created and a fetch.json of the
    wrong shape each give the package's own error with what to do."""
    from featurize.tmdb.credentials import load_credentials
    from featurize.tmdb.errors import CredentialsError
    bad = tmp_path / "tmdb.env"
    bad.write_bytes(bytes(range(128, 228)))
    with pytest.raises(CredentialsError, match="not UTF-8"):
        load_credentials(str(bad), environ={})
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(FetchDirError, match="cannot create"):
        fetch_tmdb(blocker / "out", options(fake), credentials=API_KEY)
    out = tmp_path / "out"
    fetch_tmdb(out, options(fake, per_year=2), credentials=API_KEY)
    manifest = json.loads((out / "fetch.json").read_text())
    manifest["movies"] = {"x": {}}
    (out / "fetch.json").write_text(json.dumps(manifest))
    with pytest.raises(FetchDirError, match="is damaged"):
        fetch_tmdb(out, options(fake, per_year=2), credentials=API_KEY)
