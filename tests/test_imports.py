"""Heavy dependencies stay optional: importing the store or featurize never imports torch."""

import subprocess
import sys


def test_store_and_featurize_do_not_import_torch():
    code = ("import sys, store, featurize, classifiers, onesheet; "
            "bad = [m for m in ('torch', 'torchvision') if m in sys.modules]; print(bad); sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_store_info_does_not_import_onnxruntime_sklearn_or_faiss():
    code = ("import sys; from onesheet import main; "
            "from click.testing import CliRunner; CliRunner().invoke(main, ['store', '--help']); "
            "bad = [m for m in ('torch', 'onnxruntime', 'sklearn', 'faiss') if m in sys.modules]; print(bad); "
            "sys.exit(1 if bad else 0)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
