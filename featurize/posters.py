"""PosterEmbedder: the only onnxruntime session owner. Picks providers, runs batches, reports what it used.

Batches are uint8 (n, H, W, 3) pixels as ``images.load_poster`` makes them. A float NCHW
model given its Preprocessing is rewritten on load to take them (``graph.with_uint8_input``:
normalisation inside the graph, same numbers, same file sha256); a uint8 NHWC model is used
as it is; a float model without Preprocessing takes float NCHW batches (``run_all`` in tests).
"""

import logging
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx

from .errors import DeviceError, MissingExtraError, ModelFormatError
from .feeding import BoundHostFeeder, CudaFeeder
from .graph import dims, image_input, input_layout, to_fp16, with_uint8_input
from .hashing import sha256_file

log = logging.getLogger(__name__)

CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
# On an H100 (README, On a GPU): cuDNN's exhaustive algorithm search cost 0.9 to 2 s per new input
# shape for the same steady speed and embeddings as its heuristic choice (0.4 s). TF32 convolutions
# put embeddings at cosine 0.9999886 (worst of 2,048 posters) from the CPU provider's, which share
# the feature's rows; without TF32 they are at 1.0000000, and end to end is no slower (decoding
# is the bottleneck; the model alone loses about 16 %).
CUDA_OPTIONS = {"cudnn_conv_algo_search": "HEURISTIC", "use_tf32": "0"}
# An fp16 graph has no float32 convolutions; there "use_tf32 0" made cuDNN's frontend log an error
# per convolution ("No execution plans support the graph") before it fell back.
CUDA_OPTIONS_FP16 = {"cudnn_conv_algo_search": "HEURISTIC"}
FP16_MIN_COSINE = 0.999   # an fp16 graph is only kept when every embedding is this close to fp32's


def _ort():
    try:
        import onnxruntime
    except ImportError:
        raise MissingExtraError("onnxruntime is missing: pip install 'onesheet[cpu]' (or 'onesheet[gpu]' on CUDA)") from None
    return onnxruntime


def choose_providers(device="auto", available=None):
    """CUDA when asked or available (onnxruntime-gpu), else CPU; ``device='cuda'`` without it is an error."""
    if device not in ("auto", "cpu", "cuda"):
        raise DeviceError(f"device must be auto, cpu or cuda, not {device!r}")
    available = _ort().get_available_providers() if available is None else available
    if device == "cpu":
        return [CPU]
    if CUDA in available:
        return [CUDA, CPU]
    if device == "cuda":
        raise DeviceError("--device cuda was asked for but onnxruntime has no CUDA provider "
                          f"(it has {', '.join(available)}): pip uninstall -y onnxruntime && pip install 'onesheet[gpu]'")
    return [CPU]


def cosines(a, b) -> np.ndarray:
    """Row-wise cosine similarity of two (n, d) matrices."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)


class PosterEmbedder:
    """Runs an ONNX image model and returns its embedding output, one (n, dim) float32 matrix per batch."""

    def __init__(self, onnx_path, device="auto", threads=None, output=None, preprocessing=None, precision="fp32"):
        ort = _ort()
        self.path = os.path.abspath(onnx_path)
        self.sha256 = sha256_file(self.path)
        self.precision = precision
        model = self._load(onnx_path, preprocessing, precision)
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or (os.cpu_count() or 1)
        opts.log_severity_level = 3
        # Spinning intra-op threads would steal the cores the poster decoders need.
        opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = choose_providers(device)
        cuda_options = CUDA_OPTIONS if precision == "fp32" else CUDA_OPTIONS_FP16
        try:
            self.session = ort.InferenceSession(model.SerializeToString(), opts,
                                                providers=[(p, cuda_options) if p == CUDA else p for p in providers])
        except Exception as exc:  # onnxruntime raises its own exception types
            raise ModelFormatError(f"{onnx_path} cannot be loaded by onnxruntime: {exc}") from None
        # onnxruntime-gpu silently falls back to CPU when CUDA libraries are missing: this is what runs.
        self.providers = self.session.get_providers()
        self.device = "cuda" if CUDA in self.providers else "cpu"
        self.note = None
        if CUDA in providers and self.device != "cuda":
            if device == "cuda":
                raise DeviceError("--device cuda: onnxruntime lists the CUDA provider but could not start it (CUDA or "
                                  "cuDNN libraries missing or mismatched); run with --device cpu or fix the install")
            self.note = "CUDA provider listed but could not start (CUDA/cuDNN libraries?): running on CPU"
            log.warning(self.note)
        log.info("onnxruntime providers in use: %s", self.providers)
        self._describe_io(output)
        self.feeder = (CudaFeeder(self.session, self.input_name, self.output_name, ort) if self.device == "cuda"
                       else BoundHostFeeder(self.session, self.input_name, self.output_name))

    def _load(self, onnx_path, preprocessing, precision):
        try:
            model = onnx.load(onnx_path)
        except Exception as exc:  # protobuf and onnx raise many types
            raise ModelFormatError(f"{onnx_path} is not an ONNX model onnx can read: {exc}") from None
        found = image_input(model)
        layout = found and input_layout(found[1], found[2])
        if layout is None:
            raise ModelFormatError(f"{onnx_path}: expected one image input, float NCHW (n, 3, H, W) or uint8 NHWC "
                                   f"(n, H, W, 3); found {[(i.name, dims(i)) for i in model.graph.input]}")
        if precision not in ("fp32", "fp16"):
            raise ModelFormatError(f"precision must be fp32 or fp16, not {precision!r}")
        if precision == "fp16":
            if layout != "float-nchw" or preprocessing is None:
                raise ModelFormatError(f"{onnx_path}: fp16 needs a float-input model and its preprocessing")
            model = to_fp16(model)
        if layout == "float-nchw" and preprocessing is not None:
            model = with_uint8_input(model, preprocessing.mean, preprocessing.std)
            layout = "uint8-nhwc"
        self.input_layout = layout
        return model

    def _describe_io(self, output):
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        hw = tuple(inp.shape[1:3]) if self.input_layout == "uint8-nhwc" else tuple(inp.shape[2:4])
        # (height, width) when fixed: 224 x 224 for a centre crop, 288 x 192 for a whole poster
        self.input_hw = hw if len(hw) == 2 and all(isinstance(v, int) for v in hw) else None
        self.input_size = self.input_hw[0] if self.input_hw else None
        outputs = {o.name: o for o in self.session.get_outputs()}
        self.output_name = output or ("embedding" if "embedding" in outputs else next(iter(outputs)))
        if self.output_name not in outputs:
            raise ModelFormatError(f"{self.path} has no output {self.output_name!r}; outputs: {list(outputs)}")
        dim = outputs[self.output_name].shape[-1] if len(outputs[self.output_name].shape) == 2 \
            else outputs[self.output_name].shape[1]
        self.dim = dim if isinstance(dim, int) else None

    def _checked(self, batch):
        if hasattr(batch, "__cuda_array_interface__"):   # decoded on the GPU (gpu_decode): stays there
            if self.device == "cuda" and self.input_layout == "uint8-nhwc" and str(batch.dtype).endswith("uint8"):
                return batch
            batch = batch.cpu()
        batch = np.asarray(batch)
        if self.input_layout == "uint8-nhwc":
            if batch.dtype != np.uint8 or batch.ndim != 4 or batch.shape[3] != 3:
                raise ModelFormatError(f"this embedder takes (n, H, W, 3) uint8 pixels, got {batch.dtype} {batch.shape}")
            return batch
        return np.ascontiguousarray(batch, np.float32)

    @staticmethod
    def _pooled(out, n):
        if out.ndim == 4:
            out = out.mean(axis=(2, 3))
        return out.reshape(n, -1).astype(np.float32, copy=False)

    def embed(self, batch) -> np.ndarray:
        """(n, H, W, 3) uint8 -> (n, dim) float32 (spatial outputs are mean-pooled)."""
        batch = self._checked(batch)
        return self._pooled(self.feeder.run(self.feeder.stage(batch)), len(batch))

    def warm_up(self, rows):
        """One run on ``rows`` blank images: CUDA and cuDNN set up for that batch shape."""
        if self.input_layout == "uint8-nhwc" and self.input_hw:
            self.feeder.run(self.feeder.stage(np.zeros((rows, *self.input_hw, 3), np.uint8)))

    def embed_stream(self, batches, warm_up_rows=None):
        """Embed ``(tag, batch)`` pairs with two batches in flight; yields ``(tag, embeddings)`` in order.

        Batch k+1 is staged (copied to pinned memory and onto the GPU, or bound in place on
        the CPU) while batch k runs on the run thread. A batch handed in stays referenced
        until the one after it has been taken from ``batches``. ``warm_up_rows``: run
        ``warm_up`` on the run thread while the first batch is being decoded (decode workers
        starting), instead of on the first batch.
        """
        batches = iter(batches)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="onnx-run") as runner:
            pending = deque()
            warming = runner.submit(self.warm_up, warm_up_rows) if warm_up_rows else None

            def finished():
                tag, n, fut = pending.popleft()
                return tag, (self._pooled(fut.result(), n) if fut else np.zeros((0, self.dim or 0), np.float32))

            try:
                for tag, batch in batches:
                    if len(batch) == 0:
                        pending.append((tag, 0, None))
                    else:
                        batch = self._checked(batch)
                        if warming is not None:      # the feeder's buffers are the run thread's until then
                            warming.result()
                            warming = None
                        pending.append((tag, len(batch), runner.submit(self.feeder.run, self.feeder.stage(batch))))
                    while len(pending) == 2 or (pending and pending[0][2] is None):
                        yield finished()
                while pending:
                    yield finished()
            finally:
                for _, _, fut in pending:
                    if fut:
                        fut.cancel()

    def run_all(self, batch):
        """Every output of the model (e.g. embedding and logits) for a batch."""
        names = [o.name for o in self.session.get_outputs()]
        return dict(zip(names, self.session.run(names, {self.input_name: self._checked(batch)})))
