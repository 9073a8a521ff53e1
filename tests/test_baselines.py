"""Constant answers, bootstrap intervals, small-data refusals and the flags they raise."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.metrics import f1_score

from classifiers import FitOptions, fit
from classifiers.experiment.evaluate import best_choices, evaluate
from classifiers.experiment.intervals import bootstrap_f1
from classifiers.experiment.scoring import scored_against_constant
from classifiers.model.baselines import constant_answer, constant_note, small_data_note
from classifiers.predict.predictor import Predictor
from classifiers.reports.evaluation import build
from classifiers.reports.fit_summary import format_fit
from classifiers.reports.lines import best_line
from onesheet import main
from tests.test_evaluate import report, synthetic_store  # noqa: F401  (module-scoped fixture)


def test_constant_answer_picks_the_best_k_of_the_training_order():
    Y_train = np.array([[1, 1, 0, 0]] * 5 + [[1, 0, 1, 0]] * 3 + [[0, 0, 0, 1]])  # order: 0, 1, 2, 3
    Y = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 0, 0], [0, 1, 1, 0]])
    c = constant_answer(Y_train, Y)
    # k=1: tp 3 -> 6/(4+7)=.545; k=2: tp 6 -> 12/(8+7)=.8; k=3: tp 7 -> 14/(12+7)=.737
    assert c["k"] == 2 and c["genres"] == [0, 1]
    pred = np.zeros_like(Y)
    pred[:, :2] = 1
    assert c["f1_micro"] == pytest.approx(f1_score(Y, pred, average="micro")) == pytest.approx(0.8)
    assert c["top_class_accuracy"] == pytest.approx(0.75)  # genre 0 is right for 3 of 4


def test_bootstrap_interval_brackets_the_score_and_narrows_with_more_movies():
    rng = np.random.default_rng(0)
    Y = (rng.random((400, 5)) < 0.3).astype(int)
    pred = np.where(rng.random(Y.shape) < 0.8, Y, 1 - Y)
    point = f1_score(Y, pred, average="micro")
    wide, narrow = bootstrap_f1(Y[:40], pred[:40]), bootstrap_f1(Y, pred)
    assert narrow["f1_micro"][0] < point < narrow["f1_micro"][1]
    assert narrow["f1_macro"][0] < f1_score(Y, pred, average="macro") < narrow["f1_macro"][1]
    assert (narrow["f1_micro"][1] - narrow["f1_micro"][0]) < (wide["f1_micro"][1] - wide["f1_micro"][0])


def test_a_model_below_its_constant_is_flagged_and_small_scores_are_marked():
    Y_train = np.array([[1, 0, 0]] * 8 + [[0, 1, 0]] * 2)
    Y = np.array([[1, 0, 0]] * 10)
    wrong = np.tile([0, 1, 0], (10, 1))
    line = scored_against_constant(Y, wrong, wrong.astype(float), Y_train)
    assert line["beats_constant"] is False and line["constant"]["f1_micro"] == 1.0
    assert line["small"] and "10 movies (< 30)" in line["warning"]
    right = scored_against_constant(np.tile(Y, (4, 1)), np.tile(Y, (4, 1)), np.tile(Y, (4, 1)).astype(float),
                                    Y_train)
    assert right["beats_constant"] is False  # equal to the constant is not better
    assert small_data_note(40) == ""


def test_report_and_metrics_carry_constants_intervals_and_flags(report, tmp_path):  # noqa: F811
    result, _, _ = report
    cfg = result["configs"][0]
    for line in [cfg["overall"], *cfg["per_decade"].values()]:
        assert line["constant"]["f1_micro"] is not None and line["constant"]["top_class_accuracy"] is not None
        lo, hi = line["ci95"]["f1_micro"]
        assert lo <= line["model"]["f1_micro"] <= hi
    assert all("constant_f1" in r for r in cfg["per_genre"])
    era = result["cross_era"][cfg["name"]]
    assert "constant" in era["earlier"] and "beats_constant" in era["earlier"]
    assert set(result["best_per_kind"]) == {c["kind"] for c in result["configs"]}
    # a decade below its constant is flagged in the report and in metrics.json
    flagged = json.loads(json.dumps(result))
    flagged["configs"][0]["per_decade"]["1950"]["beats_constant"] = False
    flagged["not_above_constant"] = {cfg["name"]: ["1950"]}
    html = open(build(flagged, tmp_path / "r"), encoding="utf-8").read()
    assert f"Warning: {cfg['name']} does not beat the constant answer on 1950s" in html
    assert "NOT above constant" in html
    assert json.loads((tmp_path / "r" / "metrics.json").read_text())["not_above_constant"] == {cfg["name"]: ["1950"]}


def test_no_best_model_from_a_tiny_test_split(tmp_path):
    store = synthetic_store(tmp_path / "s.h5", n=90)
    models = tmp_path / "models"
    result = fit(store, models, [("svm", "synth/x")], FitOptions(min_movies=150))
    # 72 pool movies -> validation rows per decade under 30: the fit summary says so
    summary = format_fit(result, str(models))
    assert "not reliable" in summary and "constant answer" in summary
    result = evaluate(store, models, min_test=5, balance_check=False, era=False)
    assert result["test_movies"] == 18 and result["best"] is None
    assert "the test split rests on 18 movies (< 30)" in result["best_refused"]
    assert best_line(result).startswith("no best model named")
    r = CliRunner().invoke(main, ["evaluate", str(store), "--models", str(models), "--out", str(tmp_path / "r"),
                                  "--quick", "--min-test", "5"])
    assert r.exit_code == 0, r.output
    assert "no best model named" in r.output and "best model" not in r.output.replace("no best model named", "")
    configs = [{"name": "a", "kind": "poster", "per_decade_system": {"f1_micro": 0.5}}]
    assert best_choices(configs, 30)[0] == "a" and best_choices(configs, 29)[0] is None


def test_fit_records_the_constant_per_decade_and_predict_warns(report):  # noqa: F811
    _, _, tmp = report
    predictor = Predictor(tmp / "models")
    card = predictor.configs()["svm__synth-x"]
    for entry in card["choice"].values():
        assert {"val_constant_f1_micro", "val_beats_constant", "val_f1_micro_answer"} <= set(entry)
    assert card["validation_constant"]["val_beats_constant"] in (True, False)
    beats, note = predictor.constant_check("svm__synth-x", 1955)
    assert beats == card["choice"]["1950"]["val_beats_constant"]
    # a decade whose model lost to the constant on validation: predict says so
    card["choice"]["1950"].update(val_beats_constant=False, val_f1_micro_answer=0.31, val_constant_f1_micro=0.4,
                                  val_constant_k=3)
    beats, note = predictor.constant_check("svm__synth-x", 1955)
    assert beats is False and note == constant_note(card["choice"]["1950"], "1950s")
    assert "NOT better than the constant answer on 1950s validation movies (micro-F1 0.31 vs 0.40" in note
    # a decade that beat it, on too few validation movies: predict says both
    card["choice"]["1950"].update(val_beats_constant=True, val_f1_micro_answer=0.45, n_val=4,
                                  val_note="validation score rests on 4 movies (< 30): not reliable")
    beats, note = predictor.constant_check("svm__synth-x", 1955)
    assert beats is True and note.startswith("this model is better than the constant answer on 1950s")
    assert note.endswith("rests on 4 movies (< 30): not reliable")


def test_figures_are_never_wider_than_the_report_column():
    from classifiers.reports import plots
    eras = {f"svm: a very long configuration name number {i} + tfidf + glove-6b-50d": {
        "modern": 0.6, "vintage": 0.5, "modern_constant": 0.4, "vintage_constant": 0.35} for i in range(4)}
    assert plots.png_size(plots.cross_era(eras, "t"))[0] <= plots.MAX_WIDTH_PX
    matrix = {s: {str(d): {"judged": True, "f1_micro": 0.5, "f1_macro": 0.4} for d in range(1900, 2030, 10)}
              for s in ["pooled"] + [str(d) for d in range(1900, 2030, 10)]}
    png = plots.decade_matrix(matrix, {str(d): 40 for d in range(1900, 2030, 10)}, "t")
    assert plots.png_size(png)[0] <= plots.MAX_WIDTH_PX
