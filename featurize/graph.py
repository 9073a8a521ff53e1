"""ONNX graph rewrites done when a model is loaded: uint8 NHWC input and fp16.

A float-input image model (the cached exports, old model directories, a user's --onnx
file) gets a prologue ``Transpose -> Cast -> Sub(mean) -> Mul(1/std)`` so that it takes
the decoder's uint8 pixels as they are. That is the arithmetic ``images.normalise`` does
on the host, in the same float32 order, so the network sees the same numbers and the
feature keeps its identity (the file on disk and its sha256 do not change).

NHWC rather than NCHW because that is the layout Pillow (and nvJPEG, and every decoder)
hands out: decode workers copy rows straight into a shared batch, and the transpose runs
inside the graph, next to the first convolution, on uint8 (a quarter of the bytes).
"""

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

UINT8_INPUT = "pixels"           # (batch, H, W, 3) uint8
FLOAT_TYPES = {TensorProto.FLOAT: np.float32, TensorProto.FLOAT16: np.float16, TensorProto.DOUBLE: np.float64}


def dims(value_info):
    """A value's shape: ints, with a name or None for dynamic axes."""
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None)
            for d in value_info.type.tensor_type.shape.dim]


def image_input(model: onnx.ModelProto):
    """(name, elem type, dims) of the model's one 4-D image input; dims may hold None/str for dynamic."""
    initializers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    if len(inputs) != 1 or len(dims(inputs[0])) != 4:
        return None
    return inputs[0].name, inputs[0].type.tensor_type.elem_type, dims(inputs[0])


def input_layout(elem_type, shape):
    """'uint8-nhwc', 'float-nchw', or None when the input is neither."""
    if elem_type == TensorProto.UINT8 and shape[3] == 3:
        return "uint8-nhwc"
    if elem_type in FLOAT_TYPES and shape[1] == 3:
        return "float-nchw"
    return None


def with_uint8_input(model: onnx.ModelProto, mean, std) -> onnx.ModelProto:
    """A copy of a float NCHW model that takes (batch, H, W, 3) uint8 and normalises inside."""
    name, elem, shape = image_input(model)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    g = out.graph
    dtype = FLOAT_TYPES[elem]
    mean_t = numpy_helper.from_array(np.asarray(mean, np.float32).astype(dtype).reshape(1, 3, 1, 1), "pixels_mean")
    scale_t = numpy_helper.from_array((1.0 / np.asarray(std, np.float32)).astype(dtype).reshape(1, 3, 1, 1),
                                      "pixels_inv_std")
    prologue = [
        helper.make_node("Transpose", [UINT8_INPUT], ["pixels_nchw"], perm=[0, 3, 1, 2], name="pixels_to_nchw"),
        helper.make_node("Cast", ["pixels_nchw"], ["pixels_float"], to=elem, name="pixels_cast"),
        helper.make_node("Sub", ["pixels_float", "pixels_mean"], ["pixels_centred"], name="pixels_sub_mean"),
        helper.make_node("Mul", ["pixels_centred", "pixels_inv_std"], [name], name="pixels_mul_inv_std"),
    ]
    nodes = prologue + list(g.node)
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend([mean_t, scale_t])
    old = next(i for i in g.input if i.name == name)
    new = helper.make_tensor_value_info(UINT8_INPUT, TensorProto.UINT8, [shape[0], shape[2], shape[3], shape[1]])
    position = list(g.input).index(old)
    g.input.remove(old)
    g.input.insert(position, new)
    return out


def to_fp16(model: onnx.ModelProto) -> onnx.ModelProto:
    """Weights and arithmetic in float16, inputs and outputs kept float32 (for the CUDA provider)."""
    from onnxruntime.transformers.float16 import convert_float_to_float16  # ships with onnxruntime
    return convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)
