"""predict's promises on a tiny fitted model: every row written, honest exit codes, readable
output with thresholds, and a Predictor that takes one poster or one year."""

import csv
import io
import json

import pytest
from click.testing import CliRunner

from classifiers.errors import PredictInputError
from classifiers.predict.predictor import Prediction, Predictor
from onesheet import main
from tests.bad_corpus import make_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_corpus(tmp_path_factory.mktemp("bad-corpus"))


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def read_csv(text):
    return list(csv.DictReader(io.StringIO(text)))


def poster_of(models):
    return models.parent / "posters" / "3.jpg"


def test_catalog_mode_writes_every_row_and_exits_2_with_a_count(tiny_models, corpus, tmp_path):
    out = tmp_path / "p.csv"
    r = run("predict", "--models", tiny_models, "--catalog", corpus["unterminated_quote"], "--out", out)
    assert r.exit_code == 2, r.output
    assert "1 of 9 prediction(s) failed" in r.output
    rows = read_csv(out.read_text())
    assert [p["movie_key"] for p in rows] == [str(i) for i in range(1, 10)]
    assert rows[2]["error"].startswith("malformed_row: line 4:") and rows[2]["genres"] == ""
    assert all(p["genres"] and not p["error"] for i, p in enumerate(rows) if i != 2)
    r = run("predict", "--models", tiny_models, "--catalog", corpus["skipped_rows"], "--out", out)
    assert r.exit_code == 2 and "4 of 6 prediction(s) failed" in r.output
    assert [p["error"].split(":")[0] for p in read_csv(out.read_text())] == [
        "", "duplicate_id", "missing_id", "malformed_row", "malformed_row", ""]
    assert not list(tmp_path.glob(".p.csv.tmp-*"))


def test_catalog_mode_with_bad_years_predicts_every_row(tiny_models, corpus, tmp_path):
    out = tmp_path / "p.csv"
    r = run("predict", "--models", tiny_models, "--catalog", corpus["bad_years"], "--out", out)
    assert r.exit_code == 0, r.output
    rows = {p["movie_key"]: p for p in read_csv(out.read_text())}
    assert len(rows) == 14 and all(p["genres"] and not p["error"] for p in rows.values())
    assert rows["y-inf"]["model"].endswith("/pooled") and rows["y-inf"]["warning"].startswith("invalid_year")
    assert rows["y-3000"]["warning"].startswith("impossible_year") and rows["y-int"]["warning"] == ""


def test_catalog_without_out_writes_csv_to_stdout(tiny_models, corpus):
    r = run("predict", "--models", tiny_models, "--catalog", corpus["foreign_header"], "--id-column", "ID")
    assert r.exit_code == 0, r.output
    rows = read_csv(r.stdout)
    assert [p["ID"] for p in rows] == ["a1", "a2"] and all(p["genres"] for p in rows)
    assert all("+overview-tfidf" in p["model"] for p in rows)   # the Plot column was read as the overview
    r = run("predict", "--models", tiny_models, "--catalog", corpus["unmappable_header"],
            "--columns", "overview=Story,poster=Picture File", "--out", "-")
    assert r.exit_code == 0 and read_csv(r.stdout)[0]["ID"] == "a1"


def test_folder_mode_rows_for_every_file_and_a_note_for_subfolders(tiny_models, corpus, tmp_path):
    out = tmp_path / "f.csv"
    r = run("predict", "--models", tiny_models, "--posters", corpus["folder"], "--out", out)
    assert r.exit_code == 2 and "5 of 10 prediction(s) failed" in r.output
    assert "subfolder(s) not searched (sub)" in r.output
    rows = {p["id"]: p for p in read_csv(out.read_text())}
    assert {i for i, p in rows.items() if p["genres"]} == {"img.bmp", "img.tiff", "img.webp", "img.png", "solo"}
    assert rows["empty"]["error"].startswith("empty") and rows["logo"]["error"].startswith("unsupported_format")
    r = run("predict", "--models", tiny_models, "--posters", corpus["folder"], "--out", out, "--recursive")
    assert "sub/inner" in {p["id"] for p in read_csv(out.read_text())}


def test_single_poster_failures_exit_nonzero(tiny_models, tmp_path):
    r = run("predict", "--models", tiny_models, tmp_path / "missing.jpg")
    assert r.exit_code == 2 and "missing.jpg: error: missing" in r.output and "1 of 1" in r.output
    (tmp_path / "notes.txt").write_text("hello")
    r = run("predict", "--models", tiny_models, tmp_path / "notes.txt", poster_of(tiny_models))
    assert r.exit_code == 2 and "notes.txt: error: not_an_image" in r.output and "1 of 2" in r.output
    r = run("predict", "--models", tiny_models, poster_of(tiny_models))
    assert r.exit_code == 0, r.output
    r = run("predict", "--models", tiny_models, poster_of(tiny_models), "--year", 3000)
    assert r.exit_code == 2 and "1870" in r.output   # a usage error: click's exit status


def test_text_output_shows_every_predicted_genre_with_probability_and_threshold(tiny_models):
    pred = Predictor(tiny_models).predict(poster_of(tiny_models), years=1975)
    r = run("predict", "--models", tiny_models, poster_of(tiny_models), "--year", 1975)
    lines = [line for line in r.output.splitlines() if not line.startswith("  note: ")]
    assert lines[0].split(":")[1].strip().startswith(", ".join(pred.genres))
    assert lines[1].split() == ["genre", "prob", "threshold"]
    shown = {line.split()[0]: line for line in lines[2:]}
    for g in pred.genres:
        assert f"{pred.probabilities[g]:.3f}" in shown[g] and f"{pred.thresholds[g]:.3f}" in shown[g]
        assert "predicted" in shown[g] and "not predicted" not in shown[g]
    probs = [float(line.split()[1]) for line in lines[2:]]
    assert probs[:len(pred.genres)] == sorted(probs[:len(pred.genres)], reverse=True)


def test_json_output_includes_thresholds(tiny_models):
    r = run("predict", "--models", tiny_models, poster_of(tiny_models), "--json")
    out = json.loads(r.stdout)[0]
    assert set(out["thresholds"]) == set(out["probabilities"]) and len(out["thresholds"]) == 19
    assert list(out["probabilities"].values()) == sorted(out["probabilities"].values(), reverse=True)
    assert out["error"] is None
    # the answering model beside the constant answer on its decade's validation movies
    assert len(out["notes"]) == 1 and "than the constant answer on" in out["notes"][0]


def test_predictor_takes_one_poster_path_or_bytes_and_one_year(tiny_models):
    predictor = Predictor(tiny_models)
    path = poster_of(tiny_models)
    one = predictor.predict(str(path), years=1975)
    assert isinstance(one, Prediction) and one.genres and not one.error
    assert predictor.predict(path.read_bytes(), years=1975).probabilities == pytest.approx(one.probabilities)
    assert predictor.predict(path, "cowboy horse sheriff gun", 1975).model.startswith(
        "svm__poster-efficientnet-lite0+overview-tfidf")
    many = predictor.predict([str(path), path.read_bytes(), None], ["", "", "space alien laser"], years=1975)
    assert [p.probabilities for p in many[:2]] == [pytest.approx(one.probabilities)] * 2   # batched: same to 1e-6
    assert many[2].model.startswith("svm__overview") and many[2].genres
    assert predictor.predict([str(path)], years=[1975])[0].probabilities == pytest.approx(one.probabilities)
    odd = predictor.predict(path, years="1e400")
    assert odd.model.endswith("/pooled") and odd.warning.startswith("invalid_year")
    with pytest.raises(PredictInputError, match="2 given for 1 posters"):
        predictor.predict([path], years=[1970, 1980])
    with pytest.raises(PredictInputError, match="one overview per poster"):
        predictor.predict([path, path], "one overview for two")
