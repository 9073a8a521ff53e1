"""The encoders a model directory carries (``encoders/``): written at fit, read at predict.

featurize builds the encoders (``featurize.online``); this module only stores what they
need: the ONNX file of each poster feature, the ONNX file and tokenizer of the sentence
encoder, the frozen vocabulary of each text feature
(as a plain .npz, read back with ``allow_pickle=False``), and the provenance of all.
"""

import io

import numpy as np

from featurize.errors import FeaturizeError
from featurize import sentence
from featurize.encoders import SENTENCE
from featurize.online import ARTIFACT_FEATURES, onnx_file_for

from ..model.spec import is_poster_feature
from .layout import ENCODERS, ENCODERS_INDEX


def _tag(name):
    return name.replace("/", "-")


def _npz(artifacts) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **{k: (np.array([str(x) for x in v]) if v.dtype == object else v) for k, v in artifacts.items()})
    return buf.getvalue()


def write_encoders(writer, store, names, previous=None):
    """Store the encoders of ``names`` (from the store) plus the previous version's others.

    Returns {feature: provenance} for the manifest.
    """
    index = {}
    if previous is not None:  # configurations kept from the previous version keep their encoders
        old = previous.read_json(ENCODERS_INDEX)
        for name, entry in old.items():
            if name in names or name not in previous.manifest["encoders"]:
                continue
            for file in ([entry["file"]] if entry.get("file") else []) + list(entry.get("files", {}).values()):
                writer.carry(previous, f"{ENCODERS}/{file}")
            index[name] = entry
    for name in names:
        prov = store.provenance(name)
        entry = {"name": name, "provenance": prov}
        if is_poster_feature(name):
            entry["file"] = _tag(name) + ".onnx"
            sha = writer.copy_file(f"{ENCODERS}/{entry['file']}", onnx_file_for(prov))
            if sha != prov.get("sha256"):
                raise FeaturizeError(f"the ONNX file for {name} changed while it was copied; re-run onesheet fit")
        elif name.startswith(SENTENCE):  # the sentence encoder: its ONNX file and its tokenizer
            entry["files"] = {"onnx": _tag(name) + ".onnx", "tokenizer": _tag(name) + ".tokenizer.json"}
            for key, source in sentence.source_files(prov).items():
                if writer.copy_file(f"{ENCODERS}/{entry['files'][key]}", source) != prov.get(f"{key}_sha256"):
                    raise FeaturizeError(f"the {key} file for {name} changed while it was copied; re-run onesheet fit")
        elif name in ARTIFACT_FEATURES:
            entry["file"] = _tag(name) + ".npz"
            writer.write_bytes(f"{ENCODERS}/{entry['file']}", _npz(store.artifacts(name)))
        index[name] = entry
    writer.write_json(ENCODERS_INDEX, index)
    return {n: e["provenance"] for n, e in index.items()}
