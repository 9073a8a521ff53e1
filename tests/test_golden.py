"""Golden test: the exported ONNX model carries the real ImageNet weights and matches torch."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="the ONNX export needs the [export] extra")
skdata = pytest.importorskip("skimage.data")

from PIL import Image  # noqa: E402

from featurize.images import normalise, preprocess  # noqa: E402
from featurize.models import SPECS, build_efficientnet_lite0  # noqa: E402
from featurize.onnx_export import IR_VERSION, OPSET, exported_model  # noqa: E402
from featurize.posters import PosterEmbedder  # noqa: E402

CAT_CLASSES = {281, 282, 285}  # tabby, tiger cat, Egyptian cat


PRE = SPECS["efficientnet-lite0"].preprocessing


@pytest.fixture(scope="module")
def chelsea_pixels():
    return preprocess(Image.fromarray(skdata.chelsea()), PRE)[None]


@pytest.fixture(scope="module")
def chelsea_batch(chelsea_pixels):
    return normalise(chelsea_pixels, PRE)


def test_onnx_matches_torch_and_sees_a_cat(onnx_cache, chelsea_batch):
    path = exported_model("efficientnet-lite0")
    outputs = PosterEmbedder(path).run_all(chelsea_batch)
    module, _ = build_efficientnet_lite0()
    with torch.no_grad():
        t_emb, t_logits = module(torch.from_numpy(chelsea_batch))
    assert outputs["embedding"].shape == (1, 1280)
    np.testing.assert_allclose(outputs["embedding"], t_emb.numpy(), atol=1e-4)
    assert int(outputs["logits"].argmax()) in CAT_CLASSES
    assert int(t_logits.argmax()) in CAT_CLASSES


def test_export_is_pinned_checked_and_cached(onnx_cache):
    import onnx
    path = exported_model("efficientnet-lite0")
    model = onnx.load(path, load_external_data=False)
    assert model.ir_version == IR_VERSION
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    assert not any(t.data_location == onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    assert exported_model("efficientnet-lite0") == path  # second call: cache hit


def test_random_weights_do_not_see_a_cat(onnx_cache, tmp_path, chelsea_batch):
    path = exported_model("efficientnet-lite0", random_weights=True, directory=str(tmp_path))
    logits = PosterEmbedder(path).run_all(chelsea_batch)["logits"]
    pretrained = PosterEmbedder(exported_model("efficientnet-lite0")).run_all(chelsea_batch)["logits"]
    assert not np.allclose(logits, pretrained, atol=1e-2)


def test_uint8_graph_gives_the_float_graphs_numbers(onnx_cache, chelsea_pixels, chelsea_batch):
    path = exported_model("efficientnet-lite0")
    in_graph = PosterEmbedder(path, preprocessing=PRE)
    assert in_graph.input_layout == "uint8-nhwc"
    outputs = in_graph.run_all(chelsea_pixels)
    reference = PosterEmbedder(path).run_all(chelsea_batch)
    np.testing.assert_allclose(outputs["embedding"], reference["embedding"], rtol=0, atol=1e-6)
    assert int(outputs["logits"].argmax()) in CAT_CLASSES
