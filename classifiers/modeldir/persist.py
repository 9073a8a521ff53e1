"""The only joblib user: a fitted model plus a JSON sidecar that says what it is.

joblib files are pickles: loading one runs code. Load only model directories you made or
trust. The sidecar records the sha256 of the joblib file, and ``load`` refuses a file whose
hash differs (tampered, truncated, swapped) before unpickling it.
"""

import json
import os
import time

import joblib
import sklearn

from featurize.hashing import sha256_file
from store.version import PACKAGE_VERSION

from ..errors import ModelIntegrityError, ProvenanceMismatchError

MODEL_SCHEMA_VERSION = 1


def save(model, path, card):
    """Write ``path`` (.joblib) and ``path`` + '.json'; returns the sidecar dict."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + f".tmp-{os.getpid()}"
    joblib.dump(model, tmp)
    os.replace(tmp, path)
    sidecar = dict(card, schema_version=MODEL_SCHEMA_VERSION, package_version=PACKAGE_VERSION,
                   sklearn_version=sklearn.__version__, joblib_sha256=sha256_file(path),
                   created_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"), file=os.path.basename(path))
    with open(path + ".json", "w") as f:
        json.dump(sidecar, f, indent=2, sort_keys=True, default=str)
    return sidecar


def read_sidecar(path):
    try:
        with open(path + ".json") as f:
            return json.load(f)
    except FileNotFoundError:
        raise ModelIntegrityError(f"{path} has no sidecar {path}.json; re-run onesheet fit") from None
    except json.JSONDecodeError as exc:
        raise ModelIntegrityError(f"{path}.json is not valid JSON ({exc}); re-run onesheet fit") from None


def load(path, expected_features=None):
    """Verify the sidecar, then unpickle; ``expected_features``: {name: provenance} to match."""
    sidecar = read_sidecar(path)
    if sidecar.get("schema_version") != MODEL_SCHEMA_VERSION:
        raise ModelIntegrityError(f"{path} has model schema v{sidecar.get('schema_version')}, this onesheet reads "
                                  f"v{MODEL_SCHEMA_VERSION}; re-run onesheet fit")
    if not os.path.exists(path) or sha256_file(path) != sidecar["joblib_sha256"]:
        raise ModelIntegrityError(f"{path} does not match the sha256 in its sidecar: it was modified or is "
                                  f"incomplete; refusing to load it (re-run onesheet fit)")
    if expected_features is not None:
        check_provenance(sidecar, expected_features, path)
    return joblib.load(path), sidecar


def check_provenance(sidecar, features, where):
    """Refuse a model whose features were made by other encoders than ``features`` describes."""
    for name, prov in sidecar["features"].items():
        have = features.get(name)
        if have is None:
            raise ProvenanceMismatchError(f"{where} needs feature {name}, which is not available here")
        if have.get("sha256") != prov.get("sha256"):
            raise ProvenanceMismatchError(
                f"{where} was trained on {name} from encoder sha256 {prov.get('sha256', '')[:12]}, but the features "
                f"offered now come from {have.get('sha256', '')[:12]}; re-run onesheet fit on this store")
