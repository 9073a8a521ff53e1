"""The bad-input corpus against catalog reading, ingest, featurize and folder listing (no model needed)."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from classifiers.predict.batch import catalog_rows, folder_rows
from onesheet import main
from store import FeatureStore
from store.catalog import parse_year, read_catalog
from store.columns import parse_mapping
from store.errors import CatalogError
from tests.bad_corpus import BAD_YEARS, GOOD_YEARS, make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("bad-corpus"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def problems(report, *, skip=("missing_poster",)):
    return [(p.line, p.id, p.kind) for p in report.problems if p.kind not in skip]


def test_years_are_whole_numbers_in_range_and_the_rest_is_reported_per_row(corpus):
    rows, report, _ = read_catalog(corpus["bad_years"])
    by_id = {r.id: r for r in rows}
    assert report.rows_read == report.rows_kept == len(BAD_YEARS) + len(GOOD_YEARS)
    kinds = {i: k for _, i, k in problems(report)}
    for movie_id, text in BAD_YEARS.items():
        assert by_id[movie_id].year == -1 and by_id[movie_id].decade == -1, text
    assert kinds == {"y-inf": "invalid_year", "y-1e400": "invalid_year", "y-frac": "invalid_year",
                     "y-abc": "invalid_year", "y-neg": "invalid_year", "y-nan": "invalid_year",
                     "y-3000": "impossible_year", "y-1869": "impossible_year", "y-empty": "missing_year"}
    for movie_id, (_, year) in GOOD_YEARS.items():
        assert by_id[movie_id].year == year
    assert parse_year("1999.9") == (-1, "invalid_year") and parse_year(" 2001-01-01T10:00:00Z ") == (2001, None)


def test_an_unterminated_quote_loses_only_its_own_row(corpus):
    rows, report, _ = read_catalog(corpus["unterminated_quote"])
    assert report.rows_read == 9 and report.rows_kept == 8
    assert [r.id for r in rows] == ["1", "2", "4", "5", "6", "7", "8", "9"]
    assert problems(report) == [(4, "3", "malformed_row")]
    assert "quote" in report.problems[0].detail or "quote" in [p.detail for p in report.problems
                                                                 if p.kind == "malformed_row"][0]


def test_a_swallowed_row_is_found_when_the_width_matches_by_chance(corpus):
    rows, report, _ = read_catalog(corpus["unterminated_quote_same_width"])
    assert report.rows_read == 9 and [r.id for r in rows] == ["1", "2", "3", "4", "6", "7", "8", "9"]
    assert problems(report) == [(6, "5", "malformed_row")]
    assert rows[4].overview == "A quoted overview, with a comma"


def test_an_unterminated_quote_on_the_last_line_is_reported(corpus):
    rows, report, _ = read_catalog(corpus["unterminated_quote_at_eof"])
    assert report.rows_read == 9 and len(rows) == 8
    assert problems(report) == [(10, "9", "malformed_row")]


def test_a_real_multi_line_overview_stays_one_row(corpus):
    rows, report, _ = read_catalog(corpus["quoted_newline"])
    assert [r.id for r in rows] == ["1", "2"] and report.rows_read == 2
    assert rows[0].overview == "Line one, line two, still the overview"
    assert [r.line for r in rows] == [2, 4]


def test_every_skipped_row_is_named(corpus):
    rows, report, _ = read_catalog(corpus["skipped_rows"])
    assert report.rows_read == 6 and [r.id for r in rows] == ["1", "6"]
    assert problems(report) == [(3, "1", "duplicate_id"), (4, "", "missing_id"), (5, "4", "malformed_row"),
                                (6, "5", "malformed_row")]


def test_catalog_rows_for_predict_keep_every_row_in_order(corpus):
    _, rows = catalog_rows(corpus["unterminated_quote"])
    assert [r.id for r in rows] == [str(i) for i in range(1, 10)]
    assert [bool(r.error) for r in rows] == [i == 3 for i in range(1, 10)]
    assert rows[2].error.startswith("malformed_row: line 4:")
    _, rows = catalog_rows(corpus["skipped_rows"])
    assert [r.id for r in rows] == ["1", "1", "", "4", "5", "6"]
    assert [r.error.split(":")[0] for r in rows] == ["", "duplicate_id", "missing_id", "malformed_row",
                                                     "malformed_row", ""]
    _, rows = catalog_rows(corpus["bad_years"])
    inf = next(r for r in rows if r.id == "y-inf")
    assert inf.year is None and inf.warning.startswith("invalid_year")


def test_foreign_header_is_read_through_synonyms(corpus):
    rows, report, id_col = read_catalog(corpus["foreign_header"])
    assert id_col == "ID" and [r.id for r in rows] == ["a1", "a2"]
    assert report.columns == {"id": "ID", "title": "Name", "year": "Release Date", "genres": "Genre",
                              "overview": "Plot", "poster": "Image"}
    assert rows[0].year == 1995 and rows[0].genres == ("Drama", "Crime") and rows[0].poster.endswith("p.jpg")
    assert rows[0].overview == "A detective in a city." and rows[0].title == "Alpha"


def test_unmappable_header_stops_with_one_line_and_a_suggestion(corpus, tmp_path):
    with pytest.raises(CatalogError) as exc:
        read_catalog(corpus["unmappable_header"])
    message = str(exc.value)
    assert "no poster and no overview column" in message and "Story, Picture File" in message
    assert "--columns 'overview=Story,poster=Picture File'" in message
    store = tmp_path / "s.h5"
    r = run("ingest", corpus["unmappable_header"], "--store", store)
    assert r.exit_code == 1 and "Traceback" not in r.output
    assert r.output.count("\n") == 1 and r.output.startswith("Error: no poster and no overview column")
    assert not store.exists()
    r = run("ingest", corpus["unmappable_header"], "--store", store, "--columns", "overview=Story,poster=picture file")
    assert r.exit_code == 0, r.output
    assert "overview='Story'" in r.output and "poster='Picture File'" in r.output
    with FeatureStore.open(store) as s:
        assert s.movies()["overview"][0].startswith("A detective")


def test_column_mapping_errors_are_one_line(corpus, tmp_path):
    assert parse_mapping("Overview=Plot, poster = Image") == {"overview": "Plot", "poster": "Image"}
    with pytest.raises(CatalogError, match="unknown field 'plot'"):
        parse_mapping("plot=Plot")
    with pytest.raises(CatalogError, match="FIELD=COLUMN"):
        parse_mapping("overview")
    r = run("ingest", corpus["foreign_header"], "--store", tmp_path / "s.h5", "--columns", "overview=Nope")
    assert r.exit_code == 1 and "has no column 'Nope'; its columns are: ID, Name" in r.output
    r = run("ingest", corpus["foreign_header"], "--store", tmp_path / "s.h5", "--columns", "plot=Plot")
    assert r.exit_code == 2 and "unknown field" in r.output


def test_ingest_and_featurize_report_bad_years_instead_of_crashing(corpus, tmp_path):
    r = run("ingest", corpus["bad_years"], "--store", tmp_path / "a.h5")
    assert r.exit_code == 0, r.output
    assert "invalid_year 6" in r.output and "impossible_year 2" in r.output
    r = run("featurize", corpus["bad_years"], "--store", tmp_path / "b.h5", "--no-posters", "--no-text")
    assert r.exit_code == 0, r.output
    with FeatureStore.open(tmp_path / "b.h5") as s:
        years = dict(zip(s.movies()["id"], s.movies()["year"]))
    assert years["y-inf"] == -1 and years["y-date"] == 1995
    r = run("ingest", corpus["unterminated_quote"], "--store", tmp_path / "c.h5")
    assert "9 rows read, 8 kept, 1 skipped" in r.output and "line 4 id 3: malformed_row" in r.output


def test_folder_ids_are_unique_and_every_file_gets_a_row(corpus):
    header, rows, notes = folder_rows(corpus["folder"], 1970)
    by_id = {r.id: r for r in rows}
    assert header == "id" and len(by_id) == len(rows) == 10
    assert {"img.bmp", "img.tiff", "img.webp", "img.png", "solo"} <= set(by_id)
    assert all(not by_id[i].error for i in ("img.bmp", "img.tiff", "img.webp", "img.png", "solo", "empty"))
    for name in ("logo", "icon", "photo", "notes"):
        assert by_id[name].error.startswith("unsupported_format:") and by_id[name].poster == ""
    assert len(notes) == 1 and "1 subfolder(s) not searched (sub)" in notes[0] and "--recursive" in notes[0]
    _, rows, notes = folder_rows(corpus["folder"], None, recursive=True)
    assert {"sub/inner", "sub/img"} <= {r.id for r in rows} and not notes and len(rows) == 12


def test_every_command_that_reads_a_catalog_takes_the_column_options(corpus, tmp_path, monkeypatch):
    for command in ("ingest", "featurize", "predict", "explore", "run"):
        help_text = run(command, "--help").output
        assert "--columns" in help_text and "--id-column" in help_text, command
    seen = {}

    def fake_run_job(catalog, out_dir, featurize_options=None, progress=None, **kw):
        seen["options"] = featurize_options
        raise CatalogError("stop here")
    monkeypatch.setattr("classifiers.experiment.job.run_job", fake_run_job)
    r = run("run", corpus["foreign_header"], "--out", tmp_path, "--id-column", "ID", "--columns", "overview=Plot")
    assert r.exit_code == 1 and "stop here" in r.output
    assert seen["options"].id_column == "ID" and seen["options"].columns == {"overview": "Plot"}
    main_sh = (Path(__file__).resolve().parents[1] / "scripts" / "main.sh").read_text()
    assert 'onesheet run "$CATALOG" --out "${ONESHEET_OUT:-out}" "$@"' in main_sh


def test_explore_reads_a_catalog_through_a_mapping(corpus, tmp_path):
    r = run("explore", corpus["unmappable_header"], "--out", tmp_path / "x", "--per-group", "2",
            "--columns", "overview=Story,poster=Picture File")
    assert r.exit_code == 0, r.output
    r = run("explore", corpus["unmappable_header"], "--out", tmp_path / "y")
    assert r.exit_code == 1 and "no poster and no overview column" in r.output
