"""PosterEmbedder: the only onnxruntime user. Picks providers, runs batches, reports what it used."""

import logging
import os

import numpy as np

from .errors import MissingExtraError, ModelFormatError
from .hashing import sha256_file

log = logging.getLogger(__name__)


def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError("onnxruntime is missing: pip install 'onesheet[cpu]' (or 'onesheet[gpu]' on CUDA)") from None
    return onnxruntime


def choose_providers(device="auto"):
    """CUDA when asked or available (onnxruntime-gpu), else CPU."""
    available = _ort().get_available_providers()
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if device == "cuda":
        raise MissingExtraError("CUDA was asked for but onnxruntime has no CUDA provider: "
                                "pip uninstall onnxruntime && pip install 'onesheet[gpu]'")
    return ["CPUExecutionProvider"]


class PosterEmbedder:
    """Runs an ONNX image model and returns its embedding output for NCHW float32 batches."""

    def __init__(self, onnx_path, device="auto", threads=None, output=None):
        ort = _ort()
        self.path = os.path.abspath(onnx_path)
        self.sha256 = sha256_file(self.path)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.log_severity_level = 3
        # Spinning intra-op threads would steal the cores the poster-decoding threads need.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(self.path, opts, providers=choose_providers(device))
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFormatError(f"{onnx_path} cannot be loaded by onnxruntime: {exc}") from None
        # onnxruntime-gpu silently falls back to CPU; this is what actually runs.
        self.providers = self.session.get_providers()
        log.info("onnxruntime providers in use: %s", self.providers)
        inputs = self.session.get_inputs()
        if len(inputs) != 1 or len(inputs[0].shape) != 4:
            raise ModelFormatError(f"{onnx_path}: expected one NCHW image input, found {[i.shape for i in inputs]}")
        self.input_name = inputs[0].name
        size = inputs[0].shape[2]
        self.input_size = size if isinstance(size, int) else None
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.output_name = output or ("embedding" if "embedding" in outputs else next(iter(outputs)))
        if self.output_name not in outputs:
            raise ModelFormatError(f"{onnx_path} has no output {self.output_name!r}; outputs: {list(outputs)}")
        dim = outputs[self.output_name].shape[-1]
        self.dim = dim if isinstance(dim, int) else None

    def embed(self, batch: np.ndarray) -> np.ndarray:
        """(n, 3, H, W) float32 -> (n, dim) float32 (spatial outputs are mean-pooled)."""
        out = self.session.run([self.output_name], {self.input_name: np.ascontiguousarray(batch, np.float32)})[0]
        if out.ndim == 4:
            out = out.mean(axis=(2, 3))
        return out.reshape(len(batch), -1).astype(np.float32, copy=False)

    def run_all(self, batch):
        """Every output of the model (e.g. embedding and logits) for a batch."""
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, {self.input_name: np.ascontiguousarray(batch, np.float32)})))
