"""README figures that are cheap to recompute are checked against a fresh run on the real
catalog: the text feature widths and the ingest example's output."""

import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from onesheet import main
from store import FeatureStore

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
CATALOG = ROOT.parent / "shared" / "data" / "tmdb-posters" / "movies.csv"

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not CATALOG.exists(), reason=f"real catalog not found at {CATALOG}")]


def _readme_shapes():
    """{feature: (rows, columns)} from the README's default-features table."""
    out = {}
    for name, rows, cols in re.findall(r"^\| `([a-z]+/[a-z0-9-]+)` \|.*\| ([\d,]+) × ([\d,]+) (?:dense|sparse) \|$",
                                       README, re.M):
        out[name] = (int(rows.replace(",", "")), int(cols.replace(",", "")))
    return out


def test_readme_feature_widths_match_a_fresh_featurize(tmp_path):
    shapes = _readme_shapes()
    assert {"overview/bow", "overview/tfidf", "overview/glove-6b-50d", "poster/efficientnet-lite0"} <= set(shapes)
    store = tmp_path / "s.h5"
    r = CliRunner().invoke(main, ["featurize", str(CATALOG), "--store", str(store), "--no-posters", "--quiet"])
    assert r.exit_code == 0, r.output
    with FeatureStore.open(store) as s:
        for name in ("overview/bow", "overview/tfidf", "overview/glove-6b-50d"):
            assert s.feature_info(name)["shape"] == shapes[name], name
        # the poster feature's width is the model's; its row count is the catalog's
        assert shapes["poster/efficientnet-lite0"] == (len(s.movies()["id"]), 1280)


def test_readme_ingest_example_matches_a_fresh_ingest(tmp_path):
    block = re.search(r"```\n\$ onesheet ingest (\.\./shared/data/tmdb-posters/movies\.csv) --store \S+\n(.*?)```",
                      README, re.S)
    assert block, "the README's ingest example is missing"
    r = CliRunner().invoke(main, ["ingest", str(CATALOG), "--store", str(tmp_path / "s.h5")])
    assert r.exit_code == 0, r.output
    expected = [re.sub(r"catalog \S+:", "catalog CATALOG:", line) for line in block.group(2).strip().splitlines()]
    got = [re.sub(r"catalog \S+:", "catalog CATALOG:", line) for line in r.output.strip().splitlines()]
    assert got == expected
