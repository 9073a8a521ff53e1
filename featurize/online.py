"""Featurize new posters and overviews exactly as the store's features were made.

At fit time ``save_encoders`` copies what each feature needs into the model directory
(the ONNX file itself, the frozen vocabularies, the word-vector identity); at predict time
``OnlineFeaturizer.load`` rebuilds the encoders from there and refuses any whose sha256
differs from what the store recorded. The model directory is thus self-contained: predict
needs neither the store nor torch.
"""

import json
import os
import shutil

import numpy as np

from .encoders import PosterEncoder
from .errors import FeaturizeError, PosterError
from .hashing import sha256_file
from .models import SPECS, Preprocessing
from .onnx_export import exported_model
from .stream import poster_batches
from .text import BagOfWords, MeanWordVectors, Tfidf
from . import sentence, wordvec
from .encoders import SENTENCE

TEXT = {"overview/bow": BagOfWords, "overview/tfidf": Tfidf}


def _tag(name):
    return name.replace("/", "-")


def _find_onnx(prov):
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


def save_encoders(store, names, directory):
    """Copy every encoder the features ``names`` need into ``directory``; returns their provenance."""
    os.makedirs(directory, exist_ok=True)
    index = os.path.join(directory, "encoders.json")
    saved = {}
    if os.path.exists(index):  # a later fit into the same directory adds to what is there
        with open(index) as f:
            saved = json.load(f)
    for name in names:
        prov = store.provenance(name)
        entry = {"name": name, "provenance": prov}
        if name.startswith("poster/"):
            target = os.path.join(directory, _tag(name) + ".onnx")
            if not os.path.exists(target) or sha256_file(target) != prov["sha256"]:
                shutil.copyfile(_find_onnx(prov), target)
            entry["file"] = os.path.basename(target)
        elif name.startswith(SENTENCE):
            entry["files"] = sentence.save_files(prov, directory, _tag(name))
        elif name in TEXT:
            art = store.artifacts(name)
            target = os.path.join(directory, _tag(name) + ".npz")
            np.savez(target, **{k: (np.array([str(x) for x in v]) if v.dtype == object else v) for k, v in art.items()})
            entry["file"] = os.path.basename(target)
        saved[name] = entry
    with open(index, "w") as f:
        json.dump(saved, f, indent=2, sort_keys=True)
    return {n: saved[n]["provenance"] for n in names}


class OnlineFeaturizer:
    """Encoders rebuilt from a model directory; ``transform`` gives one matrix per feature."""

    def __init__(self, posters, texts, device="auto"):
        self.posters = posters    # name -> PosterEncoder
        self.texts = texts        # name -> text encoder
        self.device = device

    @classmethod
    def load(cls, directory, names, device="auto", word_vectors=None):
        with open(os.path.join(directory, "encoders.json")) as f:
            saved = json.load(f)
        posters, texts = {}, {}
        for name in names:
            if name not in saved:
                raise FeaturizeError(f"{directory} has no encoder for {name}; re-run onesheet fit")
            entry, prov = saved[name], saved[name]["provenance"]
            if name.startswith("poster/"):
                path = os.path.join(directory, entry["file"])
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
            elif name.startswith(SENTENCE):
                files = {k: os.path.join(directory, v) for k, v in entry["files"].items()}
                for key in ("onnx", "tokenizer"):
                    if sha256_file(files[key]) != prov.get(f"{key}_sha256"):
                        raise FeaturizeError(f"{files[key]} does not match the sha256 recorded at fit time; "
                                             f"re-run onesheet fit")
                enc = sentence.SentenceEncoder(files["onnx"], files["tokenizer"], prov.get("weights_sha256"),
                                               precision=sentence.precision_of(prov))
                texts[name] = cls._checked(name, enc, prov)
            elif name in TEXT:
                with np.load(os.path.join(directory, entry["file"])) as z:
                    art = {k: z[k] for k in z.files}
                enc = TEXT[name].from_artifacts(art)
                texts[name] = cls._checked(name, enc, prov)
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
