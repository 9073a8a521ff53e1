"""Model directories: no code runs on load, versions switch atomically, every file is verified."""

import json
import os
import pickle
import random
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from classifiers import FitOptions, ModelDir, fit
from classifiers.errors import (ModelDirError, ModelFormatError, ModelIntegrityError, ProvenanceMismatchError,
                                UntrustedModelError)
from classifiers.modeldir import FORMAT_VERSION, modelfile
from onesheet import main
from tests.test_evaluate import synthetic_store

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = [("svm", "synth/x"), ("nb", "synth/x")]
OPTS = FitOptions(min_movies=150, compare_balance=False)


class Payload:
    """Unpickling this touches a marker file: the proof that code from the file ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


FIND_CLASS = []
_AUDITING = []


def _hook(event, args):
    if _AUDITING and event == "pickle.find_class":
        FIND_CLASS.append(args)


sys.addaudithook(_hook)


@pytest.fixture
def audited():
    """Records every pickle.find_class while the test body runs."""
    FIND_CLASS.clear()
    _AUDITING.append(True)
    yield FIND_CLASS
    _AUDITING.clear()


@pytest.fixture(scope="module")
def fitted_dir(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("modeldir")
    store = synthetic_store(tmp / "s.h5")
    result = fit(store, tmp / "models", CONFIGS, OPTS)
    return store, tmp / "models", result


@pytest.fixture
def copy(fitted_dir, tmp_path):
    store, models, _ = fitted_dir
    shutil.copytree(models, tmp_path / "models", ignore=shutil.ignore_patterns("*.lock"))
    return store, tmp_path / "models"


def evaluate_cli(store, models, tmp_path):
    return CliRunner().invoke(main, ["evaluate", str(store), "--models", str(models), "--out", str(tmp_path / "r"),
                                     "--quick"])


def one_line_refusal(result, text):
    """Exit 1 and one "Error: ..." line holding ``text`` (after any progress bar), no traceback."""
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    before, sep, message = result.output.partition("Error: ")
    assert sep and text in message and len(message.strip().splitlines()) == 1, result.output


def rewrite_manifest(mdir, change):
    path = Path(mdir.path) / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def rehash(mdir, rel):
    """Update the manifest's sha256 for ``rel``: what an attacker who edits the manifest does."""
    import hashlib
    digest = hashlib.sha256((Path(mdir.path) / rel).read_bytes()).hexdigest()
    rewrite_manifest(mdir, lambda m: m["files"][rel].update(sha256=digest))


def test_fit_writes_one_complete_version(fitted_dir):
    _, models, result = fitted_dir
    mdir = ModelDir.open(models)
    assert (models / "CURRENT").read_text().strip() == mdir.version == result.version
    assert mdir.manifest["format_version"] == FORMAT_VERSION
    on_disk = {str(p.relative_to(mdir.path)) for p in Path(mdir.path).rglob("*") if p.is_file()}
    assert on_disk - {"manifest.json"} == set(mdir.manifest["files"])
    assert all(f.endswith(".skops") for f in on_disk if "__" in f)
    assert mdir.options["seed"] == 0 and mdir.options["val_size"] == 0.2
    model, card = mdir.load_model("svm__synth-x", "pooled")
    assert len(card["thresholds"]) == 4
    np.testing.assert_allclose(model[-1].thresholds_, card["thresholds"])
    assert [c.name for c in result.configs] == ["svm__synth-x", "nb__synth-x"]


def test_planted_pickle_payload_never_runs(copy, tmp_path, audited):
    store, models = copy
    mdir = ModelDir.open(models)
    rel = mdir.configs["svm__synth-x"]["models"]["pooled"]["file"]
    marker = tmp_path / "ran"
    (Path(mdir.path) / rel).write_bytes(pickle.dumps(Payload(marker)))
    rehash(mdir, rel)  # a consistent manifest: integrity alone would not catch it
    r = evaluate_cli(store, models, tmp_path)
    one_line_refusal(r, "is not a onesheet model file")
    assert not marker.exists() and audited == []


def test_untrusted_type_is_refused_by_name(copy, tmp_path, audited):
    store, models = copy
    mdir = ModelDir.open(models)
    rel = mdir.configs["svm__synth-x"]["models"]["pooled"]["file"]
    X, Y = np.random.default_rng(0).normal(size=(40, 3)), np.arange(40) % 2
    # a plain scikit-learn estimator, but one that onesheet's trusted list does not name
    (Path(mdir.path) / rel).write_bytes(modelfile.dumps(Pipeline([("head", LogisticRegression().fit(X, Y))])))
    rehash(mdir, rel)
    r = evaluate_cli(store, models, tmp_path)
    one_line_refusal(r, "names type sklearn.linear_model._logistic.LogisticRegression, which onesheet does not trust")
    with pytest.raises(UntrustedModelError):
        ModelDir.open(models).load_model("svm__synth-x", "pooled")
    assert audited == []


def test_loading_a_version_runs_no_pickle(fitted_dir, audited):
    _, models, _ = fitted_dir
    mdir = ModelDir.open(models)
    for name, card in mdir.configs.items():
        for scope in card["models"]:
            mdir.load_model(name, scope)
    assert audited == []


def test_trusted_list_covers_every_head(tmp_path):
    import scipy.sparse as sp
    from classifiers.model.decades import fit_model
    from classifiers.model.spec import FeatureSpec
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6)).astype(np.float32)
    Y = (rng.random((300, 3)) < 0.3).astype(np.uint8)
    counts = sp.csr_matrix(np.abs(np.round(X * 3)))
    for head, data, params in (("svm", X, {}), ("svm", X, {"kernel": "rbf"}), ("nb", X, {}), ("nb", counts, {}),
                               ("mlp", X, {"hidden": (4,), "max_iter": 20})):
        kind = "sparse" if sp.issparse(data) else "dense"
        model = fit_model(head, data, Y, FeatureSpec(("a/b",), (6,), (kind,)), True, params, [0.5])
        blob = modelfile.dumps(model)
        assert modelfile.named_types(blob, "m") <= modelfile.TRUSTED_TYPES
        np.testing.assert_array_equal(modelfile.loads(blob, "m").predict_proba(data), model.predict_proba(data))


@pytest.mark.parametrize("damage", ["empty", "truncated", "garbage"])
def test_damaged_manifest_is_a_named_error(copy, tmp_path, damage):
    store, models = copy
    path = Path(ModelDir.open(models).path) / "manifest.json"
    text = path.read_text()
    path.write_text({"empty": "", "truncated": text[: len(text) // 2], "garbage": "[1, 2]"}[damage])
    with pytest.raises(ModelDirError, match="re-run onesheet fit"):
        ModelDir.open(models)
    one_line_refusal(evaluate_cli(store, models, tmp_path), "manifest.json")


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_damaged_encoders_index_is_refused(copy, damage):
    _, models = copy
    path = Path(ModelDir.open(models).path) / "encoders" / "encoders.json"
    path.write_text("" if damage == "empty" else path.read_text()[:10])
    with pytest.raises(ModelIntegrityError, match="does not match the sha256"):
        ModelDir.open(models)


def test_encoders_from_another_store_are_refused(copy):
    _, models = copy
    mdir = ModelDir.open(models)
    index = Path(mdir.path) / "encoders" / "encoders.json"
    other = json.loads(index.read_text())
    other["synth/x"]["provenance"]["sha256"] = "1" * 64
    index.write_text(json.dumps(other))
    rehash(mdir, "encoders/encoders.json")
    with pytest.raises(ProvenanceMismatchError, match="another store"):
        ModelDir.open(models).encoder_parts(["synth/x"])


def test_swapped_model_files_are_refused(copy):
    _, models = copy
    mdir = ModelDir.open(models)
    svm = mdir.configs["svm__synth-x"]["models"]["pooled"]["file"]
    nb = mdir.configs["nb__synth-x"]["models"]["pooled"]["file"]
    shutil.copyfile(Path(mdir.path) / nb, Path(mdir.path) / svm)
    with pytest.raises(ModelIntegrityError, match="does not match the sha256"):
        ModelDir.open(models)
    rehash(mdir, svm)  # even with the manifest edited to match, it is not the svm model
    with pytest.raises(ModelIntegrityError, match="is not the svm__synth-x model"):
        ModelDir.open(models).load_model("svm__synth-x", "pooled")


def test_damaged_current_pointer(copy, tmp_path):
    store, models = copy
    (models / "CURRENT").write_text("v999999\n")
    with pytest.raises(ModelDirError, match="not a version folder"):
        ModelDir.open(models)
    (models / "CURRENT").unlink()
    one_line_refusal(evaluate_cli(store, models, tmp_path), "holds no fitted models")


def write_v1_directory(directory, marker):
    """What onesheet wrote before model-directory versions: joblib pickles beside JSON sidecars."""
    (directory / "svm__synth-x").mkdir(parents=True)
    (directory / "svm__synth-x" / "pooled.joblib").write_bytes(pickle.dumps(Payload(marker)))
    (directory / "svm__synth-x" / "pooled.joblib.json").write_text("{}")
    (directory / "encoders").mkdir()
    (directory / "encoders" / "encoders.json").write_text("{}")
    (directory / "manifest.json").write_text(json.dumps(
        {"schema_version": 1, "configs": {"svm__synth-x": {"models": {"pooled": "svm__synth-x/pooled.joblib"}}}}))
    (directory / "split.json").write_text(json.dumps(
        {"schema_version": 1, "seed": 0, "test_size": 0.2, "test_ids": ["s0", "s1", "s2"],
         "seen_ids": ["s0", "s1", "s2", "s3"]}))


def test_v1_joblib_directory_is_refused_then_refit_keeps_its_split(tmp_path, audited):
    store = synthetic_store(tmp_path / "s.h5")
    models = tmp_path / "models"
    marker = tmp_path / "ran"
    write_v1_directory(models, marker)
    with pytest.raises(ModelFormatError, match="old format v1 .joblib pickles.*re-run onesheet fit"):
        ModelDir.open(models)
    one_line_refusal(evaluate_cli(store, models, tmp_path), "old format v1")
    fit(store, models, [("svm", "synth/x")], OPTS)
    split = ModelDir.open(models).split()
    assert {"s0", "s1", "s2"} <= split.test_ids and "s3" not in split.test_ids  # v1's assignments kept
    assert sorted(os.listdir(models)) == ["CURRENT", "fit.lock", "v000001"]  # v1 files removed
    assert not marker.exists() and audited == []


def test_refit_keeps_other_configs_and_old_version(copy):
    store, models = copy
    before = ModelDir.open(models)
    fit(store, models, [("svm", "synth/x")], OPTS)
    after = ModelDir.open(models)
    assert after.version != before.version and set(after.configs) == {"svm__synth-x", "nb__synth-x"}
    after.load_model("nb__synth-x", "pooled")
    assert after.split().test_ids == before.split().test_ids
    fit(store, models, [("nb", "synth/x")], OPTS)
    versions = sorted(p for p in os.listdir(models) if p.startswith("v"))
    assert len(versions) == 2 and not [p for p in os.listdir(models) if p.startswith(".")]


def test_a_fit_with_another_seed_drops_configurations_fitted_on_the_old_split(copy):
    store, models = copy
    assert set(ModelDir.open(models).configs) == {"svm__synth-x", "nb__synth-x"}
    fit(store, models, [("svm", "synth/x")], FitOptions(min_movies=OPTS.min_movies, seed=OPTS.seed + 1))
    after = ModelDir.open(models)
    assert set(after.configs) == {"svm__synth-x"} and after.split().seed == OPTS.seed + 1


def test_an_orphan_version_of_a_killed_fit_is_removed_and_the_version_in_use_kept(copy):
    """A fit killed after renaming its version but before switching CURRENT leaves an orphan;
    the next fit must delete the orphan, not the version readers were using."""
    store, models = copy
    in_use = ModelDir.open(models).version
    orphan = "v%06d" % (int(in_use[1:]) + 1)
    shutil.copytree(models / in_use, models / orphan)
    fit(store, models, [("svm", "synth/x")], OPTS)
    now = ModelDir.open(models).version
    versions = sorted(p for p in os.listdir(models) if p.startswith("v"))
    assert versions == sorted([in_use, now]) and orphan not in versions


FIT_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from classifiers import FitOptions, fit
    fit(sys.argv[1], sys.argv[2], [("svm", "synth/x"), ("nb", "synth/x")], FitOptions(min_movies=150, seed=int(sys.argv[3])))
""")


def test_killed_fit_leaves_old_or_new_never_a_mixture(tmp_path):
    """SIGKILL `fit` into an existing directory at random moments: predict-side loading sees a
    whole version (the old one or a new one) every time, and the next fit cleans up."""
    store = synthetic_store(tmp_path / "s.h5")
    models = tmp_path / "models"
    script = tmp_path / "fit.py"
    script.write_text(FIT_SCRIPT.format(root=str(ROOT)))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV_")}

    def start(seed):
        return subprocess.Popen([sys.executable, str(script), str(store), str(models), str(seed)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    t0 = time.perf_counter()
    assert start(0).wait() == 0
    duration = time.perf_counter() - t0
    complete = {ModelDir.open(models).version}
    rng = random.Random(7)
    for seed in range(1, 9):
        proc = start(seed)
        time.sleep(rng.uniform(0.2, duration))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        mdir = ModelDir.open(models)  # verifies every file against the manifest
        for name, card in mdir.configs.items():
            for scope in card["models"]:
                mdir.load_model(name, scope)
        assert mdir.options["seed"] in (0, *range(1, seed + 1))
        complete.add(mdir.version)
    assert start(99).wait() == 0
    left = sorted(os.listdir(models))
    assert not [p for p in left if p.startswith(".") or ".tmp" in p], left
    assert len([p for p in left if p.startswith("v")]) == 2


def test_model_trained_on_other_encoders_is_refused(copy):
    _, models = copy
    mdir = ModelDir.open(models)
    rewrite_manifest(mdir, lambda m: m["configs"]["svm__synth-x"]["features_provenance"]["synth/x"].update(
        sha256="2" * 64))
    with pytest.raises(ProvenanceMismatchError, match="re-run onesheet fit"):
        ModelDir.open(models).load_model("svm__synth-x", "pooled")


def test_reading_model_files_does_not_import_torch():
    code = ("import sys; from classifiers.modeldir import modelfile; modelfile._skops_io(); "
            "print([m for m in ('torch', 'sklearn.utils._testing') if m in sys.modules])")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stdout + r.stderr
