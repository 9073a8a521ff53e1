"""Resolve what the user asked for into concrete encoders with provenance.

Poster encoders are an ONNX file plus preprocessing; text encoders are fitted on the
catalog the first time and rebuilt from the store's artifacts afterwards, so every later
movie (and every prediction) is featurized with exactly the same vocabulary.
"""

import os
from dataclasses import dataclass, field

from .errors import FeaturizeError
from .hashing import sha256_file
from .models import IMAGENET, SPECS, Preprocessing
from .onnx_export import IR_VERSION, OPSET, exported_model
from .text import BagOfWords, MeanWordVectors, Tfidf
from . import wordvec

PREPROCESSING = {"efficientnet": Preprocessing(), "imagenet": IMAGENET}


@dataclass
class PosterEncoder:
    name: str                       # feature name, e.g. poster/efficientnet-lite0
    onnx_path: str
    preprocessing: Preprocessing
    provenance: dict = field(default_factory=dict)
    device: str = "auto"
    _embedder: object = None

    @property
    def embedder(self):
        if self._embedder is None:
            from .posters import PosterEmbedder
            self._embedder = PosterEmbedder(self.onnx_path, device=self.device)
        return self._embedder


def poster_encoder(model="efficientnet-lite0", onnx=None, preprocess=None, device="auto") -> PosterEncoder:
    """A named pretrained model (exported once) or a user's ONNX file."""
    if onnx:
        if not os.path.isfile(onnx):
            raise FeaturizeError(f"--onnx {onnx} does not exist")
        pre = PREPROCESSING[preprocess or "imagenet"]
        stem = os.path.splitext(os.path.basename(onnx))[0].lower()
        name = "poster/" + "".join(c if c.isalnum() or c in "-_." else "-" for c in stem)
        prov = {"encoder": f"onnx:{os.path.basename(onnx)}", "source": os.path.abspath(onnx)}
        path = onnx
    else:
        if model not in SPECS:
            raise FeaturizeError(f"unknown poster model {model!r}; choose one of {', '.join(SPECS)} or pass --onnx PATH")
        pre = PREPROCESSING[preprocess] if preprocess else SPECS[model].preprocessing
        path = exported_model(model)
        name = f"poster/{model}"
        prov = {"encoder": model, "onnx_opset": OPSET, "onnx_ir_version": IR_VERSION}
    prov.update(sha256=sha256_file(path), preprocessing=pre.describe(),
                preprocessing_params={"resize": pre.resize, "crop": pre.crop, "mean": list(pre.mean), "std": list(pre.std)})
    return PosterEncoder(name, path, pre, prov, device)


def free_name(store, base, sha256):
    """``base`` unless the store holds it from a different encoder: then ``base-<sha8>``."""
    if base in store.features() and store.provenance(base).get("sha256") != sha256:
        return f"{base}-{sha256[:8]}"
    return base


TEXT_KINDS = {"bow": BagOfWords, "tfidf": Tfidf}


def text_encoders(store, word_vectors=None):
    """{feature name: encoder} for the default text features, rebuilt from the store where present."""
    out = {}
    for kind, cls in TEXT_KINDS.items():
        name = f"overview/{kind}"
        out[name] = cls.from_artifacts(store.artifacts(name)) if name in store.features() else cls()
    kv, suffix, sha = wordvec.load(word_vectors)
    name = free_name(store, f"overview/{suffix}", sha)
    out[name] = MeanWordVectors(kv, suffix, sha, source=word_vectors)
    return out
