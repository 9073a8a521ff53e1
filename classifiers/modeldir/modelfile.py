"""Fitted models as skops files: loading one never runs code from the file.

A skops file is a zip of a JSON schema plus .npy arrays; loading rebuilds objects from the
schema, and only of types the caller trusts. ``loads`` reads every type the schema names
first and refuses the file, naming the type, if any is outside ``TRUSTED_TYPES``: the
onesheet heads and block scaler and the scikit-learn / numpy types they hold. No pickle is
involved (arrays load with ``allow_pickle=False``).
"""

import importlib
import io
import json
import sys
import zipfile

from ..errors import ModelIntegrityError, UntrustedModelError

# Every type a onesheet model file may name. A new head or estimator adds its types here.
TRUSTED_TYPES = frozenset({
    "builtins.bool", "builtins.dict", "builtins.float", "builtins.int", "builtins.list", "builtins.NoneType",
    "builtins.str", "builtins.tuple",
    "numpy.ndarray", "numpy.float32", "numpy.float64", "numpy.int32", "numpy.int64", "numpy.uint8", "numpy.bool_",
    "numpy.random.mtrand.RandomState",
    "classifiers.model.features.BlockScaler",
    "classifiers.model.heads.SVMHead", "classifiers.model.heads.NBHead", "classifiers.model.heads.MLPHead",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.preprocessing._label.LabelBinarizer",
    "sklearn.svm._classes.LinearSVC", "sklearn.svm._classes.SVC",
    "sklearn.naive_bayes.ComplementNB", "sklearn.naive_bayes.MultinomialNB", "sklearn.naive_bayes.GaussianNB",
    "sklearn.neural_network._multilayer_perceptron.MLPClassifier",
    "sklearn.neural_network._stochastic_optimizers.AdamOptimizer",
    "sklearn.neural_network._stochastic_optimizers.SGDOptimizer",
})


def _skops_io():
    """``skops.io``, imported without its default trusted-type scan.

    On import, skops lists every scikit-learn estimator as trusted by default, which
    imports all of scikit-learn (its test helpers import torch): +6 s and +600 MB for
    `onesheet predict` on 2 cores. onesheet passes its own explicit list on every load
    and checks it first, so that default list is not needed: the scan is skipped.
    """
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    import sklearn.utils
    real = sklearn.utils.all_estimators
    sklearn.utils.all_estimators = lambda *args, **kwargs: []
    try:
        return importlib.import_module("skops.io")
    finally:
        sklearn.utils.all_estimators = real


def dumps(model) -> bytes:
    return _skops_io().dumps(model)


def named_types(data: bytes, where: str) -> set:
    """Every ``module.Class`` the file's schema names (without building anything)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            schema = json.loads(z.read("schema.json"))
    except (zipfile.BadZipFile, KeyError, ValueError, UnicodeDecodeError) as exc:
        raise ModelIntegrityError(f"{where} is not a onesheet model file ({type(exc).__name__}); "
                                  f"re-run onesheet fit") from None
    found, todo = set(), [schema]
    while todo:
        node = todo.pop()
        if isinstance(node, dict):
            if "__class__" in node:
                found.add(f"{node.get('__module__')}.{node['__class__']}")
            todo.extend(node.values())
        elif isinstance(node, list):
            todo.extend(node)
    return found


def loads(data: bytes, where: str):
    """The model in ``data``; UntrustedModelError (naming the type) before anything is built."""
    untrusted = sorted(named_types(data, where) - TRUSTED_TYPES)
    if untrusted:
        raise UntrustedModelError(f"{where} names type {untrusted[0]}, which onesheet does not trust; refusing to "
                                  f"load it (only models made by onesheet fit load)")
    try:
        return _skops_io().loads(data, trusted=sorted(TRUSTED_TYPES))
    except Exception as exc:  # a schema skops cannot build: damaged or hand-made
        raise ModelIntegrityError(f"{where} could not be read as a model ({type(exc).__name__}: {exc}); "
                                  f"re-run onesheet fit") from None
