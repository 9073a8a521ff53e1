"""Catalog validation on deliberately broken CSVs: every problem is reported, nothing crashes."""

import pytest

from store.catalog import read_catalog
from store.errors import CatalogError
from store.genres import TMDB_GENRES, GenreVocabulary
from tests.conftest import make_poster, write_catalog


def kinds(report):
    return [(p.id, p.kind) for p in report.problems]


def test_genre_aliases_and_case():
    v = GenreVocabulary()
    assert len(v) == 19 and v.genres == TMDB_GENRES
    assert v.normalise("Sci-Fi") == "Science Fiction"
    assert v.normalise("science fiction") == "Science Fiction"
    assert v.normalise("Musical") == "Music"
    assert v.normalise("tv movie") == "TV Movie"
    assert v.normalise("Bollywood") is None
    assert v.parse("drama|Sci-Fi||Drama|Nonsense") == (["Drama", "Science Fiction"], ["Nonsense"])


def test_broken_rows_are_reported_and_good_rows_kept(tmp_path):
    make_poster(tmp_path / "ok.jpg", 1)
    rows = [
        ["1", "Good", "1966", "Western|Sci-Fi", "A cowboy in space.", "ok.jpg"],
        ["1", "Duplicate", "1970", "Drama", "Again.", "ok.jpg"],
        ["", "No id", "1970", "Drama", "x", "ok.jpg"],
        ["3", "Too few fields"],
        ["4", "No year", "", "Comedy", "Funny.", "ok.jpg"],
        ["5", "Future", "3020", "Comedy", "Funny.", "ok.jpg"],
        ["6", "Bad year", "nineteen", "Comedy", "Funny.", "ok.jpg"],
        ["7", "Unknown genre", "1980", "Bollywood|Drama", "Sad.", "ok.jpg"],
        ["8", "No poster file", "1980", "Drama", "Sad.", "missing.jpg"],
        ["9", "Empty overview", "1990", "Horror", "   ", "ok.jpg"],
        ["10", "Only unknown genre", "1990", "Noir", "Dark.", "ok.jpg"],
    ]
    path = write_catalog(tmp_path / "c.csv", rows)
    kept, report, id_col = read_catalog(path)
    assert id_col == "movie_key"
    assert [r.id for r in kept] == ["1", "4", "5", "6", "7", "8", "9", "10"]
    assert report.rows_read == 11 and report.rows_kept == 8 and report.rows_skipped == 3
    found = kinds(report)
    for expected in [("1", "duplicate_id"), ("", "missing_id"), ("3", "malformed_row"), ("4", "missing_year"),
                     ("5", "impossible_year"), ("6", "invalid_year"), ("7", "unknown_genre"),
                     ("8", "missing_poster"), ("9", "empty_overview"), ("10", "unknown_genre"), ("10", "no_genres")]:
        assert expected in found
    first = kept[0]
    assert first.genres == ("Western", "Science Fiction") and first.decade == 1960
    assert first.poster == str(tmp_path / "ok.jpg")
    by_id = {r.id: r for r in kept}
    assert by_id["5"].year == -1 and by_id["5"].decade == -1
    assert by_id["7"].genres == ("Drama",)
    assert by_id["8"].poster == ""
    d = report.to_dict()
    assert d["counts"]["duplicate_id"] == 1 and d["problems"][0]["line"] == 3


def test_id_column_choice_and_absolute_posters(tmp_path):
    poster = make_poster(tmp_path / "p.jpg", 2)
    path = write_catalog(tmp_path / "c.csv", [["tt1", "T", "2001", "Drama", "o", str(poster)]],
                         header=["imdb", "title", "year", "genres", "overview", "poster"])
    with pytest.raises(CatalogError, match="no id column"):
        read_catalog(path)
    kept, _, col = read_catalog(path, id_column="imdb")
    assert col == "imdb" and kept[0].id == "tt1" and kept[0].poster == str(poster)


def test_ids_stay_strings(tmp_path):
    path = write_catalog(tmp_path / "c.csv", [["007", "Bond", "1962", "Action", "Spy.", ""]])
    kept, _, _ = read_catalog(path)
    assert kept[0].id == "007"


def test_garbage_files_raise_catalog_error(tmp_path):
    binary = tmp_path / "x.csv"
    binary.write_bytes(b"\0" * 1000)
    with pytest.raises(CatalogError):
        read_catalog(binary)
    with pytest.raises(CatalogError):
        read_catalog(tmp_path / "nope.csv")
    empty = tmp_path / "e.csv"
    empty.write_text("")
    with pytest.raises(CatalogError, match="header"):
        read_catalog(empty)


def test_invalid_utf8_and_quoted_newlines(tmp_path):
    path = tmp_path / "c.csv"
    path.write_bytes(b'movie_key,title,year,genres,overview,poster\n'
                     b'1,"Caf\xe9",1999,Drama,"two\nlines",\n2,Ok,2000,Comedy,fine,\n')
    kept, report, _ = read_catalog(path)
    assert [r.id for r in kept] == ["1", "2"]
    assert kept[0].overview == "two lines"
    assert ("1", "invalid_utf8") in kinds(report)
