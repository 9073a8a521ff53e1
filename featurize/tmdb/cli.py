"""`onesheet fetch-tmdb`: a thin click shell over featurize.tmdb.fetch_tmdb."""

import os

import click
from store.cliutil import echo_json, progress_bars, user_errors

from .credentials import KEY_ENV, TOKEN_ENV, load_credentials, loosely_readable
from .discover import YearsError, parse_years
from .fetch import DEFAULT_API_URL, DEFAULT_IMAGE_URL, POSTER_SIZES, FetchOptions, fetch_tmdb, no_progress
from .manifest import ATTRIBUTION


def format_summary(summary, show=10) -> str:
    s, req = summary, summary.requests
    lines = [f"{s.catalog}: {s.movies} movies ({s.new} new); posters: {s.posters_downloaded} downloaded, "
             f"{s.posters_already} already on disk, {s.no_poster} movies without one on TMDb"]
    for label, rows in (("poster problems (row kept, no poster)", s.poster_problems),
                        ("skipped (not in the catalog)", s.skipped)):
        if rows:
            counts = {}
            for _, kind, _ in rows:
                counts[kind] = counts.get(kind, 0) + 1
            lines.append(f"{label}: {len(rows)}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
            lines += [f"  {movie_id}: {kind}: {detail}" for movie_id, kind, detail in rows[:show]]
    retries = req.get("retries", {})
    lines.append(f"requests: {req.get('requests', 0)} ({s.request_rate:.1f}/s), retries: {sum(retries.values())}"
                 + (" (" + ", ".join(f"{k} {v}" for k, v in sorted(retries.items())) + ")" if retries else ""))
    lines.append(f"years complete: {len(s.years_complete)}" + (f", truncated at 500 pages: {s.years_truncated}"
                                                               if s.years_truncated else ""))
    for year, why in sorted(s.years_incomplete.items()):
        lines.append(f"  {year} incomplete (re-run to finish it): {why}")
    lines.append(f"done in {s.seconds:.1f} s; {ATTRIBUTION}")
    return "\n".join(lines)


@click.command("fetch-tmdb")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False),
              help="Catalog folder: movies.csv, posters/, fetch.json. Re-run into it to resume or grow it.")
@click.option("--years", required=True, help="1950, 1930-1969, 1950s, or a comma-separated mix.")
@click.option("--per-year", type=click.IntRange(1), default=None,
              help="At most N movies per year, most-voted first [default: all TMDb has].")
@click.option("--language", default="en-US", show_default=True, help="Language of titles and overviews.")
@click.option("--poster-size", type=click.Choice(POSTER_SIZES), default="w185", show_default=True)
@click.option("--min-votes", type=click.IntRange(0), default=0, show_default=True,
              help="Only movies with at least N TMDb votes.")
@click.option("--imdb-ids", is_flag=True, help="Also fetch each movie's details for its IMDb id (one more request "
                                               "per movie).")
@click.option("--concurrency", type=click.IntRange(1, 32), default=4, show_default=True,
              help="Requests in flight at once.")
@click.option("--rate", type=click.FloatRange(0.1), default=40.0, show_default=True,
              help="Requests per second at most (TMDb allows about 40-50).")
@click.option("--timeout", type=click.FloatRange(0.1), default=30.0, show_default=True, help="Seconds per request.")
@click.option("--max-retries", type=click.IntRange(0), default=5, show_default=True)
@click.option("--api-url", envvar="TMDB_API_URL", default=DEFAULT_API_URL, show_default=True)
@click.option("--image-url", envvar="TMDB_IMAGE_URL", default=DEFAULT_IMAGE_URL, show_default=True)
@click.option("--credentials-file", type=click.Path(dir_okay=False),
              help="A file with TMDB_TOKEN=... or TMDB_API_KEY=... (used when neither variable is set).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@user_errors()
def fetch_tmdb_cmd(out_dir, years, per_year, language, poster_size, min_votes, imdb_ids, concurrency, rate, timeout,
                   max_retries, api_url, image_url, credentials_file, as_json, quiet):
    """Grow a training catalog from TMDb: movies.csv + posters/ for `onesheet featurize` (resumable).

    Credentials come from TMDB_TOKEN (read-access token) or TMDB_API_KEY, never from the command line.
    """
    try:
        year_list = parse_years(years)
    except YearsError as exc:
        raise click.BadParameter(str(exc), param_hint="--years") from None
    credentials = load_credentials(credentials_file)
    if credentials.source not in (TOKEN_ENV, KEY_ENV) and loosely_readable(credentials.source):
        click.echo(f"warning: {credentials.source} is readable by other users (chmod 600 it)", err=True)
    opts = FetchOptions(years=year_list, per_year=per_year, language=language, poster_size=poster_size,
                        min_votes=min_votes, imdb_ids=imdb_ids, concurrency=concurrency, rate=rate, timeout=timeout,
                        max_retries=max_retries, api_url=api_url, image_url=image_url)
    progress = no_progress if quiet else progress_bars("movie", smoothing=0.1)
    summary = fetch_tmdb(os.path.abspath(out_dir), opts, credentials=credentials, progress=progress)
    if as_json:
        echo_json({"catalog": summary.catalog, **summary.to_dict()})
    else:
        click.echo(format_summary(summary))
