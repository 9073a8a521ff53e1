"""Loading every model of a model directory: format 1 (joblib pickles) vs format 2 (skops).

    python benchmarks/model_load.py --old DIR_V1 --new DIR_V2

Both directories should hold the same configurations fitted on the same store (e.g. one
made by the previous onesheet, one by this one). Old: what format 1's loader did, sha256 of
each joblib file against its sidecar, then ``joblib.load``. New: ``ModelDir.open`` (every
file of the version checked against the manifest, the ONNX file included) and
``load_model`` for each model (type check, then skops). Prints the median seconds of each
and their ratio: what a server's or `onesheet predict`'s start pays for loads that cannot
run code.

Warning: the old side unpickles (that is what it measures). Point --old only at a directory
you fitted yourself with the previous onesheet; onesheet itself never loads these files.
"""

import argparse
import glob
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)
from benchmarks.common import median_seconds  # noqa: E402
from classifiers.modeldir import ModelDir  # noqa: E402


def load_old(directory):
    import joblib  # only this benchmark still reads format 1
    models = []
    for path in sorted(glob.glob(os.path.join(directory, "*", "*.joblib"))):
        with open(path + ".json") as f:
            expected = json.load(f)["joblib_sha256"]
        with open(path, "rb") as f:
            assert hashlib.sha256(f.read()).hexdigest() == expected
        models.append(joblib.load(path))
    return models


def load_new(directory):
    mdir = ModelDir.open(directory)
    return [mdir.load_model(name, scope)[0] for name, card in mdir.configs.items() for scope in card["models"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True, help="a format-1 model directory (joblib)")
    ap.add_argument("--new", required=True, help="a format-2 model directory (skops)")
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    n_old, n_new = len(load_old(args.old)), len(load_new(args.new))
    old = median_seconds(lambda: load_old(args.old), repeats=args.repeats, warmup=1)
    new = median_seconds(lambda: load_new(args.new), repeats=args.repeats, warmup=1)
    print(f"format 1, joblib: {n_old} models in {old:.2f} s (median of {args.repeats})")
    print(f"format 2, skops + verify every file: {n_new} models in {new:.2f} s (median of {args.repeats})")
    print(f"ratio new / old: {new / old:.2f}")


if __name__ == "__main__":
    main()
