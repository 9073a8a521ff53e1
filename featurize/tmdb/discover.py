"""``discover/movie`` for one release year, page by page, within TMDb's 500-page limit.

TMDb serves at most 500 pages (10,000 movies) of any one query. A year that holds more than
that (and a run that wants more than that) is split into date ranges, halved until each fits;
a single day that still does not fit is read up to the limit and reported as truncated.
"""

import datetime as dt
import math
import re
from dataclasses import dataclass

from store.schema import MAX_YEAR, MIN_YEAR

from .errors import FetchOptionsError, TmdbRequestError

MAX_PAGES = 500
SORT_BY = "vote_count.desc"          # the best-known movies of a year first: what a dealer sells


class YearsError(FetchOptionsError):
    """A --years value that cannot be read."""


def parse_years(text: str) -> list:
    """'1930-1969', '1950s', '1955', or a comma-separated mix -> sorted unique years."""
    years = set()
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        m = re.fullmatch(r"(\d{4})s", part) or re.fullmatch(r"(\d{4})(?:\s*-\s*(\d{4}))?", part)
        if not m:
            raise YearsError(f"cannot read {part!r}: give years as 1950, 1930-1969 or 1950s")
        if part.endswith("s"):
            lo = int(m.group(1))
            if lo % 10:
                raise YearsError(f"{part!r} is not a decade (write 1950s)")
            hi = lo + 9
        else:
            lo = int(m.group(1))
            hi = int(m.group(2) or lo)
        if lo > hi:
            raise YearsError(f"{part!r} runs backwards")
        if lo < MIN_YEAR or hi > MAX_YEAR:
            raise YearsError(f"{part!r} is outside {MIN_YEAR}-{MAX_YEAR}")
        years.update(range(lo, hi + 1))
    if not years:
        raise YearsError("no years given")
    return sorted(years)


@dataclass(frozen=True)
class DiscoverQuery:
    language: str = "en-US"
    min_votes: int = 0
    sort_by: str = SORT_BY

    def params(self, lo: dt.date, hi: dt.date, page: int) -> dict:
        return {"language": self.language, "sort_by": self.sort_by, "include_adult": "false",
                "include_video": "false", "vote_count.gte": self.min_votes or None, "page": page,
                "primary_release_date.gte": lo.isoformat(), "primary_release_date.lte": hi.isoformat()}


@dataclass
class YearPlan:
    """Page 1 of a whole year: how many movies TMDb has for it (known before anything is fetched)."""
    year: int
    first_page: dict
    available: int
    truncated: bool = False          # set when even one day held more than MAX_PAGES pages


def _page(client, query, lo, hi, page) -> dict:
    body = client.get_json("/discover/movie", **query.params(lo, hi, page))
    if not isinstance(body.get("results"), list):
        raise TmdbRequestError("bad_json", f"/discover/movie page {page} ({lo}..{hi}): no results list")
    return body


def _total_pages(body) -> int:
    try:
        return max(0, int(body.get("total_pages") or 0))
    except (TypeError, ValueError):
        return 0


def plan_year(client, year, query: DiscoverQuery) -> YearPlan:
    first = _page(client, query, dt.date(year, 1, 1), dt.date(year, 12, 31), 1)
    try:
        available = int(first.get("total_results") or len(first["results"]))
    except (TypeError, ValueError):
        available = len(first["results"])
    return YearPlan(year, first, available)


def iter_rows(client, plan: YearPlan, query: DiscoverQuery, wanted=None, max_pages=MAX_PAGES):
    """Discover rows of ``plan.year`` in TMDb's order; ``wanted``: how many the caller may still take.

    A generator: the caller stops consuming when it has enough, and no further page is asked.
    """
    ranges = [(dt.date(plan.year, 1, 1), dt.date(plan.year, 12, 31), plan.first_page)]
    while ranges:
        lo, hi, first = ranges.pop(0)
        first = first or _page(client, query, lo, hi, 1)
        pages = _total_pages(first)
        per_page = max(1, len(first["results"]))
        need_pages = pages if wanted is None else math.ceil(wanted / per_page)
        if pages > max_pages and need_pages > max_pages:
            if lo < hi:
                mid = lo + (hi - lo) // 2
                ranges[0:0] = [(lo, mid, None), (mid + dt.timedelta(days=1), hi, None)]
                continue
            plan.truncated = True
        yield from first["results"]
        for page in range(2, min(pages, max_pages) + 1):
            yield from _page(client, query, lo, hi, page)["results"]
