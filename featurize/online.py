"""Featurize new posters and overviews exactly as the store's features were made.

At fit time the model directory (``classifiers.modeldir``, the only reader and writer of
its files) stores what each feature needs: the ONNX file (found by ``onnx_file_for``), the
frozen vocabularies of ``ARTIFACT_FEATURES``, the word-vector identity. At predict time
``OnlineFeaturizer.from_parts`` rebuilds the encoders from those parts and refuses any whose
sha256 differs from what the store recorded. predict needs neither the store nor torch.
"""

import os

import numpy as np

from .encoders import PosterEncoder
from .errors import FeaturizeError, PosterError
from .hashing import sha256_file
from .models import SPECS, Preprocessing
from .onnx_export import exported_model
from .stream import poster_batches
from .text import BagOfWords, MeanWordVectors, Tfidf
from . import sentence, wordvec

TEXT = {"overview/bow": BagOfWords, "overview/tfidf": Tfidf}
ARTIFACT_FEATURES = frozenset(TEXT)  # text features rebuilt from stored artifacts (vocabularies)


def onnx_file_for(prov):
    """The ONNX file a poster feature was built with: its recorded source or the export cache."""
    candidates = [prov.get("source")]
    if not str(prov.get("encoder", "")).startswith("onnx:"):
        try:
            candidates.append(exported_model(prov["encoder"]))
        except FeaturizeError:
            pass
    for path in candidates:
        if path and os.path.isfile(path) and sha256_file(path) == prov["sha256"]:
            return path
    raise FeaturizeError(f"the ONNX model with sha256 {prov['sha256'][:12]} that built this poster feature is not "
                         f"on this machine; re-run onesheet featurize or point --onnx at the original file")


class OnlineFeaturizer:
    """Encoders rebuilt from a model directory; ``transform`` gives one matrix per feature."""

    def __init__(self, posters, texts, device="auto"):
        self.posters = posters    # name -> PosterEncoder
        self.texts = texts        # name -> text encoder
        self.device = device

    @classmethod
    def from_parts(cls, parts, device="auto", word_vectors=None):
        """Encoders from a model directory's parts:
        {name: {"provenance", "onnx_path" | "sentence_paths" | "artifacts"}}."""
        posters, texts = {}, {}
        for name, part in parts.items():
            prov = part["provenance"]
            if "onnx_path" in part:
                path = part["onnx_path"]
                if sha256_file(path) != prov["sha256"]:
                    raise FeaturizeError(f"{path} does not match the sha256 recorded at fit time; re-run onesheet fit")
                pp = prov.get("preprocessing_params")
                if pp is None and prov.get("encoder") in SPECS:  # stores written before params were recorded
                    pre = SPECS[prov["encoder"]].preprocessing
                elif pp is None:
                    raise FeaturizeError(f"{name}: the store does not record its preprocessing; re-run featurize")
                else:
                    pre = Preprocessing(pp["resize"], pp["crop"], tuple(pp["mean"]), tuple(pp["std"]), pp.get("height", 0))
                posters[name] = PosterEncoder(name, path, pre, prov, device)
            elif "sentence_paths" in part:
                files = part["sentence_paths"]
                for key in ("onnx", "tokenizer"):
                    if sha256_file(files[key]) != prov.get(f"{key}_sha256"):
                        raise FeaturizeError(f"{name}: the {key} file does not match the sha256 recorded at fit time; "
                                             f"re-run onesheet fit")
                enc = sentence.SentenceEncoder(files["onnx"], files["tokenizer"], prov.get("weights_sha256"),
                                               precision=sentence.precision_of(prov))
                texts[name] = cls._checked(name, enc, prov)
            elif name in TEXT:
                if "artifacts" not in part:
                    raise FeaturizeError(f"{name}: the model directory holds no vocabulary for it; re-run onesheet fit")
                texts[name] = cls._checked(name, TEXT[name].from_artifacts(part["artifacts"]), prov)
            else:
                kv, suffix, sha = wordvec.load(word_vectors or prov.get("source") or prov.get("word_vectors"))
                texts[name] = cls._checked(name, MeanWordVectors(kv, suffix, sha), prov)
        return cls(posters, texts, device)

    @staticmethod
    def _checked(name, enc, prov):
        if enc.provenance()["sha256"] != prov["sha256"]:
            raise FeaturizeError(f"{name}: the encoder available now is not the one the model was trained with "
                                 f"(sha256 {enc.provenance()['sha256'][:12]} vs {prov['sha256'][:12]})")
        return enc

    def transform(self, posters, overviews, batch_size=32, workers=2):
        """posters: list of path/bytes/None; overviews: list of str.

        Returns ({feature: matrix (n rows)}, {row: PosterError}); rows whose poster failed
        hold zeros in the poster features and are listed in the failures.
        """
        n = len(overviews)
        out, failures = {}, {}
        given = [(i, p) for i, p in enumerate(posters) if p is not None and p != ""]
        if self.posters:
            failures.update({i: PosterError("missing", "no poster given")
                             for i in set(range(n)) - {i for i, _ in given}})
        for name, enc in self.posters.items():
            dim = enc.embedder.dim  # None when the model's output width is dynamic
            matrix = np.zeros((n, dim), np.float32) if dim else None
            for rows, batch, bad in poster_batches(given, enc.preprocessing, batch_size, workers):
                failures.update({i: e for i, e in bad})
                if rows:
                    emb = enc.embedder.embed(batch)
                    if matrix is None:
                        matrix = np.zeros((n, emb.shape[1]), np.float32)
                    matrix[rows] = emb
            out[name] = matrix if matrix is not None else np.zeros((n, 0), np.float32)
        for name, enc in self.texts.items():
            out[name] = enc.transform(list(overviews))
        return out, failures
