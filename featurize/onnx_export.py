"""Pretrained torch model -> one pinned, checked, self-contained ONNX file, cached by content.

Opset and IR version are pinned so that the onnxruntime we install accepts the file even
when a newer ``onnx`` package would write a newer IR version. Weights are embedded (no
external data). The cache key is the sha256 of the weights plus the export settings, so a
second featurize run does not need torch at all.
"""

import io
import os
import tempfile
import warnings

import onnx

from store import atomic

from .errors import FeaturizeError
from .hashing import sha256_json
from .models import BUILDERS, SPECS, _torch, weights_description

OPSET = 17
IR_VERSION = 8          # opset 17 needs IR >= 8; onnxruntime >= 1.14 reads it
INPUT, EMBEDDING, LOGITS = "image", "embedding", "logits"


def cache_dir() -> str:
    root = os.environ.get("ONESHEET_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "onesheet")
    path = os.path.join(root, "onnx")
    os.makedirs(path, exist_ok=True)
    return path


def export(module, size, path, height=None):
    """Trace ``module`` (NCHW float32 -> (embedding, logits)) to ``path`` and check it fully.

    The input is ``size`` square, or ``height`` x ``size`` (h x w) for whole-poster models."""
    torch = _torch()
    dummy = torch.zeros(1, 3, height or size, size)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer chatter about constant folding
        torch.onnx.export(module, (dummy,), buffer, dynamo=False, opset_version=OPSET,
                          input_names=[INPUT], output_names=[EMBEDDING, LOGITS],
                          dynamic_axes={INPUT: {0: "batch"}, EMBEDDING: {0: "batch"}, LOGITS: {0: "batch"}},
                          do_constant_folding=True)
    return save_checked(buffer.getvalue(), path)


def save_checked(exported: bytes, path, ir_version=IR_VERSION):
    """Pin the IR version of a torch export, check the graph, and save it atomically (never a
    half-written file under the cached name); returns ``path``."""
    model = onnx.load_from_string(exported)
    model.ir_version = ir_version
    onnx.checker.check_model(model, full_check=True)
    with atomic.replacing(path) as tmp:
        onnx.save_model(model, tmp, save_as_external_data=False)
    return path


def exported_model(name, random_weights=False, directory=None) -> str:
    """Path of the ONNX export of a named model, exporting it (once) when not cached.

    A cached export is found from the weights' hash alone, so torch is only imported
    the first time.
    """
    if name not in BUILDERS:
        raise FeaturizeError(f"unknown poster model {name!r}; choose one of {', '.join(BUILDERS)} or pass --onnx PATH")
    spec = SPECS[name]
    desc = {"weights": "random"} if random_weights else weights_description(name)
    shape = {"height": spec.preprocessing.height} if spec.preprocessing.height else {}
    key = sha256_json({"model": name, **desc, "opset": OPSET, "ir": IR_VERSION, "crop": spec.preprocessing.crop, **shape})
    directory = directory or (tempfile.mkdtemp() if random_weights else cache_dir())
    path = os.path.join(directory, f"{name}-{'random-' if random_weights else ''}{key[:16]}.onnx")
    if not os.path.exists(path):
        module, _ = BUILDERS[name](random_weights=random_weights)
        export(module, spec.preprocessing.crop, path, spec.preprocessing.height or None)
    return path
