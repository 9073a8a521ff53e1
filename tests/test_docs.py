"""The README stays true: its set-up commands, CI's test command, and every CLI command it names."""

import re
from pathlib import Path

from click.testing import CliRunner

from onesheet import COMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_starts_with_the_two_setup_commands_and_ci_runs_the_test_one():
    first_block = re.search(r"```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in first_block.strip().splitlines()]
    assert commands == ["bash scripts/main.sh", "bash scripts/test.sh"]
    ci = (ROOT / ".ci" / "run").read_text()
    assert "bash scripts/test.sh" in ci.splitlines()
    for script in ("main.sh", "test.sh", "setup.sh"):
        assert (ROOT / "scripts" / script).exists()


def test_every_command_the_readme_names_exists_and_has_help():
    named = set(re.findall(r"(?:`|\$ |^)onesheet ([a-z][a-z-]*[a-z])", README, re.M))
    assert named <= set(COMMANDS), named - set(COMMANDS)
    for name in named:
        r = CliRunner().invoke(main, [name, "--help"])
        assert r.exit_code == 0, (name, r.output)


def test_every_option_the_readme_gives_featurize_and_fit_exists():
    for command in ("featurize", "fit", "predict", "serve", "evaluate", "fetch-tmdb"):
        help_text = CliRunner().invoke(main, [command, "--help"]).output
        usage = re.findall(rf"onesheet {command} [^\n`]*", README)
        for line in usage:
            for option in re.findall(r"(--[a-z][a-z-]+)", line):
                assert option in help_text, (command, option)


def test_the_plain_h5py_snippet_reads_a_store(tmp_path, monkeypatch, capsys):
    import numpy as np

    from store import FeatureStore
    section = README[README.index("## The feature store"):README.index("### Python API")]
    snippet = re.search(r"```python\n(import h5py.*?)```", section, re.S).group(1)
    ids = [f"m{i}" for i in range(5)]
    (tmp_path / "out").mkdir()
    with FeatureStore.open(tmp_path / "out" / "store.h5", "a") as s:
        s.replace_movies({"id": ids, "title": [f"Title {m}" for m in ids], "overview": [""] * 5, "poster": [""] * 5,
                          "poster_sha256": [""] * 5, "year": [1990] * 5, "decade": [1990] * 5},
                         np.zeros((5, 1), np.uint8), ["Drama"])
        prov = {"encoder": "e", "sha256": "0", "preprocessing": "p"}
        s.write_features("poster/efficientnet-lite0", ids, np.ones((5, 1280)), prov)
        s.write_features("poster/efficientnet-lite0", ["m0"], np.full((1, 1280), 2.0), prov)   # supersedes m0
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert sorted(scope["ids"]) == ids and scope["X"].shape == (5, 1280)
    assert scope["X"][list(scope["ids"]).index("m0"), 0] == 2.0
    assert capsys.readouterr().out.strip().startswith("(5, 1280) m1 Title m1")


def test_the_predictor_example_runs(tiny_models, tmp_path, monkeypatch, capsys):
    import shutil
    section = README[README.index("## Classifiers: fit and predict"):README.index("## Evaluation reports")]
    snippet = re.search(r"```python\n(from classifiers import Predictor.*?)```", section, re.S).group(1)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "models").symlink_to(tiny_models, target_is_directory=True)
    (tmp_path / "posters").mkdir()
    for name, source in (("10112.jpg", "3.jpg"), ("100.jpg", "4.jpg")):
        shutil.copy(tiny_models.parent / "posters" / source, tmp_path / "posters" / name)
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(snippet, "README.md", "exec"), scope)
    assert len(scope["batch"]) == 3 and all(b.genres and not b.error for b in scope["batch"])
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("svm__poster-efficientnet-lite0/pooled") and "threshold" in lines[1]
