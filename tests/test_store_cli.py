"""`onesheet ingest` / `onesheet store ...` through click's CliRunner: exit codes and messages."""

import json

import h5py
import numpy as np
from click.testing import CliRunner

from onesheet import main
from store import FeatureStore
from tests.test_store import PROV, make_store


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_ingest_then_info(tiny_catalog, tmp_path):
    store = tmp_path / "s.h5"
    r = run("ingest", tiny_catalog, "--store", store)
    assert r.exit_code == 0, r.output
    assert "24 rows read, 24 kept, 0 skipped" in r.output and "24 added" in r.output
    r = run("store", "info", store)
    assert r.exit_code == 0 and "movies    24" in r.output
    info = json.loads(run("store", "info", store, "--json").output)
    assert info["movies"] == 24 and set(info["decades"]) == {"1950", "1960", "1970"}


def test_lookup_matches_python_api_in_every_format(tmp_path):
    path = tmp_path / "s.h5"
    make_store(path)
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", s.ids(), np.random.default_rng(0).normal(size=(30, 3)), PROV)
    with FeatureStore.open(path) as s:
        expected = s.lookup(["m4", "m1"], "poster/p")
    r = run("store", "lookup", path, "--feature", "poster/p", "--ids", "m4,m1")
    assert r.exit_code == 0, r.output
    got = json.loads(r.output)
    assert list(got) == ["m4", "m1"]
    np.testing.assert_array_equal(np.array(list(got.values()), np.float32), expected)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("m4\nm1\n")
    out = tmp_path / "v.npy"
    assert run("store", "lookup", path, "--feature", "poster/p", "--ids-file", ids_file,
               "--format", "npy", "--out", out).exit_code == 0
    np.testing.assert_array_equal(np.load(out), expected)
    r = run("store", "lookup", path, "--feature", "poster/p", "--ids", "m4", "--format", "csv")
    assert r.output.splitlines()[0] == "id,f0,f1,f2" and r.output.splitlines()[1].startswith("m4,")


def test_user_errors_are_one_line_exit_1(tmp_path):
    path = tmp_path / "s.h5"
    make_store(path)
    garbage = tmp_path / "garbage.h5"
    garbage.write_text("hello")
    cases = [
        (["store", "info", garbage], "not a readable HDF5"),
        (["store", "info", tmp_path / "none.h5"], "does not exist"),
        (["store", "lookup", path, "--feature", "poster/none", "--ids", "m1"], "no feature 'poster/none'"),
    ]
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ["m1"], np.ones((1, 2)), PROV)
    cases.append((["store", "lookup", path, "--feature", "poster/p", "--ids", "m1,nobody"], "nobody"))
    newer = tmp_path / "newer.h5"
    make_store(newer)
    with h5py.File(newer, "a") as f:
        f.attrs["schema_version"] = 7
    cases.append((["store", "verify", newer], "upgrade onesheet"))
    cases.append((["ingest", garbage, "--store", tmp_path / "x.h5"], "no id column"))
    for args, needle in cases:
        r = run(*args)
        assert r.exit_code == 1, (args, r.output)
        assert needle in r.output, (args, r.output)
        assert "Traceback" not in r.output
        assert len(r.output.strip().splitlines()) == 1, r.output


def test_verify_ok_and_broken(tmp_path):
    path = tmp_path / "s.h5"
    make_store(path)
    r = run("store", "verify", path)
    assert r.exit_code == 0 and r.output.startswith("ok: 30 movies")
    with FeatureStore.open(path, "a") as s:
        s.write_features("poster/p", ["m1"], np.ones((1, 2)), PROV)
    with h5py.File(path, "a") as f:
        f["features/poster/p/matrix"][0, 0] = np.inf
    r = run("store", "verify", path)
    assert r.exit_code == 1 and "NaN or infinite" in r.output


def test_compact_and_migrate_commands(tmp_path):
    from tests.v1_store import write_v1_store
    path = tmp_path / "s.h5"
    make_store(path)
    with FeatureStore.open(path, "a") as s:
        for k in range(3):
            s.write_features("poster/p", [f"m{k}"], np.ones((1, 2)), PROV)
    r = run("store", "compact", path, "--quiet")
    assert r.exit_code == 0 and "poster/p: 3 segment(s) -> 1" in r.output, r.output
    old = tmp_path / "old.h5"
    data = write_v1_store(old)
    r = run("ingest", tmp_path / "missing.csv", "--store", old)
    assert r.exit_code == 1
    with FeatureStore.open(old) as s:
        assert s.schema_version == 1
    r = run("store", "compact", old)
    assert r.exit_code == 1 and f"onesheet store migrate {old}" in r.output and "Traceback" not in r.output
    r = run("store", "migrate", old)
    assert r.exit_code == 0 and "from schema v1 to v2: 40 movies, 2 features" in r.output, r.output
    assert "nothing to do" in run("store", "migrate", old).output
    r = run("store", "verify", old)
    assert r.exit_code == 0 and r.output.startswith(f"ok: {len(data['ids'])} movies, 2 features, schema v2")
