"""Resolve what the user asked for into concrete encoders with provenance.

Poster encoders are an ONNX file plus preprocessing; text encoders are fitted on the
catalog the first time and rebuilt from the store's artifacts afterwards, so every later
movie (and every prediction) is featurized with exactly the same vocabulary.
"""

import os
from dataclasses import dataclass, field

from .errors import FeaturizeError, PrecisionError
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
    precision: str = "fp32"         # "fp16" (for CUDA): kept only within cosine 0.999 of fp32
    _embedder: object = None

    @property
    def embedder(self):
        """The onnxruntime session; it takes (n, H, W, 3) uint8 batches and normalises inside its graph."""
        if self._embedder is None:
            from .posters import PosterEmbedder
            self._embedder = PosterEmbedder(self.onnx_path, device=self.device, preprocessing=self.preprocessing,
                                            precision=self.precision)
        return self._embedder

    def accept_precision(self, batch) -> float:
        """Min cosine of this encoder's embeddings of ``batch`` to fp32's; PrecisionError below FP16_MIN_COSINE."""
        from .posters import FP16_MIN_COSINE, PosterEmbedder, cosines
        reference = PosterEmbedder(self.onnx_path, device=self.embedder.device, preprocessing=self.preprocessing)
        worst = float(cosines(self.embedder.embed(batch), reference.embed(batch)).min())
        if worst < FP16_MIN_COSINE:
            raise PrecisionError(f"{self.name}: {self.precision} embeddings are only {worst:.5f} cosine-close to fp32 "
                                 f"(need {FP16_MIN_COSINE}); run with --precision fp32")
        return worst


def poster_encoder(model="efficientnet-lite0", onnx=None, preprocess=None, device="auto",
                   precision="fp32") -> PosterEncoder:
    """A named pretrained model (exported once) or a user's ONNX file.

    ``precision='fp16'`` is a separate feature (``<name>-fp16``): its numbers differ from
    fp32's by up to cosine 0.999, too much to mix rows of both in one feature.
    """
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
    if precision != "fp32":
        name += f"-{precision}"
    prov.update(sha256=sha256_file(path), preprocessing=pre.describe(), precision=precision,
                preprocessing_params=pre.params())
    return PosterEncoder(name, path, pre, prov, device, precision)


def free_name(store, base, sha256):
    """``base`` unless the store holds it from a different encoder: then ``base-<sha8>``."""
    if base in store.features() and store.provenance(base).get("sha256") != sha256:
        return f"{base}-{sha256[:8]}"
    return base


TEXT_KINDS = {"bow": BagOfWords, "tfidf": Tfidf}
SENTENCE = "overview/minilm"


def text_encoders(store, word_vectors=None, sentence=True):
    """{feature name: encoder} for the default text features, rebuilt from the store where present.

    ``sentence`` adds overview/minilm (exported to ONNX on first use; see featurize.sentence)."""
    out = {}
    for kind, cls in TEXT_KINDS.items():
        name = f"overview/{kind}"
        out[name] = cls.from_artifacts(store.artifacts(name)) if name in store.features() else cls()
    kv, suffix, sha = wordvec.load(word_vectors)
    name = free_name(store, f"overview/{suffix}", sha)
    out[name] = MeanWordVectors(kv, suffix, sha, source=word_vectors)
    if sentence:
        from .sentence import SentenceEncoder
        enc = SentenceEncoder.default()
        out[free_name(store, SENTENCE, enc.provenance()["sha256"])] = enc
    return out
