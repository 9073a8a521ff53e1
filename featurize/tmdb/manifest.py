"""DIR/fetch.json: what was asked, what was fetched and when, and TMDb's attribution notice.

It is the fetcher's single source of truth (movies.csv is rewritten from it), saved atomically
at every checkpoint, so a run killed at any moment resumes from its last checkpoint. A folder
fetched with other settings (language, poster size, minimum votes, sort, IMDb ids) is refused:
mixing them would give a catalog whose rows mean different things.
"""

import json
import os
from dataclasses import dataclass, field

from store import atomic
from store.version import PACKAGE_VERSION

from .errors import FetchDirError
from .movies import Movie

MANIFEST = "fetch.json"
FORMAT = "onesheet-tmdb-fetch"
FORMAT_VERSION = 1
ATTRIBUTION = "This product uses the TMDB API but is not endorsed or certified by TMDB."
TERMS = ("Data and posters come from The Movie Database (TMDB, https://www.themoviedb.org) under its API terms of "
         "use: show the attribution above wherever you use them; the posters are copyrighted artwork of their "
         "owners: do not redistribute them.")


@dataclass
class FetchManifest:
    query: dict                                   # settings every run into this folder must share
    api_url: str = ""
    image_url: str = ""
    created_at: str = ""
    updated_at: str = ""
    runs: list = field(default_factory=list)      # [{asked, started_at, finished_at, summary}]
    years: dict = field(default_factory=dict)     # "1950" -> {complete, target, available, truncated}
    movies: dict = field(default_factory=dict)    # id -> Movie
    skipped: dict = field(default_factory=dict)   # id -> {reason, detail, year}: permanent (404, bad row)

    def year_done(self, year, target) -> bool:
        """True when ``year`` was completed for at least ``target`` movies (None: all of them)."""
        entry = self.years.get(str(year))
        if not entry or not entry.get("complete"):
            return False
        done = entry.get("target")
        return done is None or (target is not None and target <= done)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "format_version": FORMAT_VERSION, "written_by": f"onesheet {PACKAGE_VERSION}",
                "attribution": ATTRIBUTION, "terms": TERMS, "api_url": self.api_url, "image_url": self.image_url,
                "query": self.query, "created_at": self.created_at, "updated_at": self.updated_at,
                "runs": self.runs, "years": self.years,
                "movies": {str(k): m.to_record() for k, m in sorted(self.movies.items())},
                "skipped": self.skipped}


def manifest_path(out_dir) -> str:
    return os.path.join(out_dir, MANIFEST)


def load_manifest(out_dir, query: dict):
    """The folder's manifest, or None for a fresh folder; FetchDirError for anything else."""
    path = manifest_path(out_dir)
    if not os.path.exists(path):
        if os.path.exists(os.path.join(out_dir, "movies.csv")):
            raise FetchDirError(f"{out_dir}/movies.csv exists but was not written by fetch-tmdb (no {MANIFEST}); "
                                f"choose another --out so it is not overwritten")
        return None
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        raise FetchDirError(f"cannot read {path} ({exc}); move the folder aside and fetch again") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise FetchDirError(f"{path} is not a fetch-tmdb manifest; choose another --out")
    if data.get("format_version") != FORMAT_VERSION:
        raise FetchDirError(f"{path} has format version {data.get('format_version')}, this onesheet reads "
                            f"{FORMAT_VERSION}: use the onesheet that wrote it ({data.get('written_by')}) "
                            f"or fetch into another --out")
    if data.get("query") != query:
        there = data.get("query") or {}
        diff = ", ".join(f"{k}: {there.get(k)!r} there, {v!r} now" for k, v in query.items() if there.get(k) != v)
        raise FetchDirError(f"{out_dir} was fetched with other settings ({diff}); re-run with the same settings "
                            f"or choose another --out")
    try:
        return FetchManifest(query=data["query"], api_url=data.get("api_url", ""), image_url=data.get("image_url", ""),
                             created_at=data.get("created_at", ""), updated_at=data.get("updated_at", ""),
                             runs=data.get("runs", []), years=data.get("years", {}),
                             movies={int(k): Movie.from_record(k, v) for k, v in data.get("movies", {}).items()},
                             skipped=data.get("skipped", {}))
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise FetchDirError(f"{manifest_path(out_dir)} is damaged ({type(exc).__name__}: {exc}); move the folder "
                            f"aside and fetch again") from None


def save_manifest(out_dir, manifest: FetchManifest) -> None:
    with atomic.replacing(manifest_path(out_dir)) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(manifest.to_dict(), f, indent=1, ensure_ascii=False)
