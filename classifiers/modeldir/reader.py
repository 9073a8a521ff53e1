"""Reading a model directory: the current version, every file checked against its manifest."""

import hashlib
import io
import os
from dataclasses import dataclass

import numpy as np

from ..errors import ModelDirError, ModelFormatError, ModelIntegrityError, ProvenanceMismatchError
from . import legacy, modelfile
from .layout import (CURRENT, ENCODERS, ENCODERS_INDEX, FORMAT_VERSION, MANIFEST, SPLIT, parse_json, read_file,
                     version_number)

REQUIRED = {"configs": dict, "files": dict, "genres": list, "encoders": dict, "split": str}


@dataclass(frozen=True)
class Split:
    """The held-out test split a fit recorded."""
    test_ids: frozenset
    seen_ids: frozenset
    seed: int
    test_size: float


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


class ModelDir:
    """One version of a model directory, opened read-only. ``open`` verifies every file."""

    def __init__(self, directory, version, manifest):
        self.directory = directory
        self.version = version
        self.path = os.path.join(directory, version)
        self.manifest = manifest

    @classmethod
    def open(cls, directory, verify=True):
        directory = os.path.abspath(os.fspath(directory))
        current = os.path.join(directory, CURRENT)
        if not os.path.exists(current):
            legacy.refuse(directory)
            raise ModelDirError(f"{directory} holds no fitted models; run onesheet fit STORE --models {directory}")
        name = read_file(current, "the current version's name").decode("utf-8", "replace").strip()
        if version_number(name) is None or not os.path.isdir(os.path.join(directory, name)):
            raise ModelDirError(f"{current} names {name[:40]!r}, which is not a version folder here; the model "
                                f"directory is damaged: re-run onesheet fit")
        where = os.path.join(directory, name, MANIFEST)
        manifest = parse_json(read_file(where, "the manifest"), where)
        if manifest.get("format_version") != FORMAT_VERSION:
            raise ModelFormatError(f"{where} has model-directory format {manifest.get('format_version')!r}; this "
                                   f"onesheet reads format {FORMAT_VERSION}: re-run onesheet fit")
        missing = [k for k, kind in REQUIRED.items() if not isinstance(manifest.get(k), kind)]
        if missing:
            raise ModelDirError(f"{where} lacks {', '.join(missing)}; the model directory is damaged: re-run "
                                f"onesheet fit")
        mdir = cls(directory, name, manifest)
        if verify:
            mdir.verify()
        return mdir

    # ---- files, each checked against the manifest
    def _entry(self, rel):
        entry = self.manifest["files"].get(rel)
        if not isinstance(entry, dict) or "sha256" not in entry:
            raise ModelIntegrityError(f"{os.path.join(self.path, rel)} is not listed in {MANIFEST}; re-run onesheet fit")
        if os.path.isabs(rel) or ".." in rel.split("/"):
            raise ModelIntegrityError(f"{MANIFEST} lists {rel!r}, a path outside its version folder; refusing it")
        return entry

    def read_bytes(self, rel) -> bytes:
        entry = self._entry(rel)
        path = os.path.join(self.path, rel)
        data = read_file(path, rel)
        if _sha256(data) != entry["sha256"]:
            raise ModelIntegrityError(f"{path} does not match the sha256 in {MANIFEST}: it was modified, truncated or "
                                      f"swapped; refusing to load it (re-run onesheet fit)")
        return data

    def read_json(self, rel) -> dict:
        return parse_json(self.read_bytes(rel), os.path.join(self.path, rel))

    def verify(self):
        """Every file the manifest lists is present and has its recorded sha256."""
        for rel in self.manifest["files"]:
            self.read_bytes(rel)

    # ---- what the files mean
    @property
    def configs(self) -> dict:
        return self.manifest["configs"]

    @property
    def genres(self) -> list:
        return self.manifest["genres"]

    @property
    def options(self) -> dict:
        return self.manifest.get("options", {})

    def split(self) -> Split:
        s = self.read_json(self.manifest["split"])
        try:
            return Split(frozenset(s["test_ids"]), frozenset(s["seen_ids"]), s["seed"], s["test_size"])
        except (KeyError, TypeError):
            raise ModelDirError(f"{os.path.join(self.path, SPLIT)} lacks the test split; re-run onesheet fit") from None

    def load_model(self, config, scope):
        """(fitted pipeline, its card) after checking it is the model the manifest describes."""
        card = self.configs.get(config)
        entry = (card or {}).get("models", {}).get(scope)
        if not isinstance(entry, dict) or "file" not in entry:
            raise ModelDirError(f"{self.path} has no model {config}/{scope}; re-run onesheet fit")
        where = os.path.join(self.path, entry["file"])
        for name, prov in (card.get("features_provenance") or {}).items():
            have = self.manifest["encoders"].get(name) or {}
            if have.get("sha256") != prov.get("sha256"):
                raise ProvenanceMismatchError(
                    f"{config} was trained on {name} from encoder sha256 {str(prov.get('sha256'))[:12]}, but this "
                    f"directory's encoders are {str(have.get('sha256'))[:12]}; re-run onesheet fit")
        model = modelfile.loads(self.read_bytes(entry["file"]), where)
        _check_model(model, card, len(self.genres), where)
        return model, entry

    def encoder_parts(self, names):
        """{name: {"provenance", "onnx_path" | "sentence_paths" | "artifacts"}} for featurize to rebuild its encoders."""
        index = self.read_json(ENCODERS_INDEX)
        parts = {}
        for name in names:
            entry, expected = index.get(name), self.manifest["encoders"].get(name)
            if not isinstance(entry, dict) or expected is None:
                raise ModelDirError(f"{self.path} has no encoder for {name}; re-run onesheet fit")
            prov = entry.get("provenance") or {}
            if prov.get("sha256") != expected.get("sha256"):
                raise ProvenanceMismatchError(
                    f"{os.path.join(self.path, ENCODERS_INDEX)} describes {name} from encoder sha256 "
                    f"{str(prov.get('sha256'))[:12]}, but the models were trained with {str(expected.get('sha256'))[:12]} "
                    f"(encoders from another store?); re-run onesheet fit")
            part = {"provenance": prov}
            if isinstance(entry.get("files"), dict):  # the sentence encoder: ONNX file + tokenizer
                part["sentence_paths"] = {}
                for key, file in entry["files"].items():
                    self.read_bytes(f"{ENCODERS}/{file}")  # verified now; onnxruntime and tokenizers open by path
                    part["sentence_paths"][key] = os.path.join(self.path, ENCODERS, file)
            rel = f"{ENCODERS}/{entry['file']}" if entry.get("file") else None
            if rel and rel.endswith(".onnx"):
                self.read_bytes(rel)  # verified now; onnxruntime opens it by path
                part["onnx_path"] = os.path.join(self.path, rel)
            elif rel:
                with np.load(io.BytesIO(self.read_bytes(rel)), allow_pickle=False) as z:
                    part["artifacts"] = {k: z[k] for k in z.files}
            parts[name] = part
        return parts


def _check_model(model, card, n_genres, where):
    """Refuse a loadable file that is not this configuration's model (e.g. copied from another one)."""
    from ..model.heads import HEADS
    try:
        scaler, head = model[0], model[-1]
        widths = list(card.get("widths") or [])
        ok = (type(head) is HEADS.get(card.get("head")) and head.n_genres_ == n_genres
              and (not widths or (list(scaler.widths or []) == widths and scaler.n_features_in_ == sum(widths))))
    except (TypeError, AttributeError, IndexError, KeyError):
        ok = False
    if not ok:
        raise ModelIntegrityError(f"{where} is not the {card.get('name')} model its manifest describes (another "
                                  f"configuration's file?); refusing it (re-run onesheet fit)")
