"""Integration: ingest the whole real catalog."""

import pytest

from store import FeatureStore
from store.ingest import ingest

pytestmark = pytest.mark.slow


def test_ingest_all_6301_real_movies(real_catalog, tmp_path):
    result = ingest(real_catalog, tmp_path / "s.h5")
    assert result.report.rows_kept == 6301 and result.report.rows_skipped == 0
    with FeatureStore.open(tmp_path / "s.h5") as s:
        info = s.info()
        assert info["movies"] == 6301 and len(s.genres()) == 19
        assert info["genres"]["Drama"] == 2943 and info["genres"]["Documentary"] == 7
        assert info["decades"][1990] == 1246 and s.decades()[0] == 1900
        assert s.verify() == []
