"""efficientnet-lite0-bands: the whole poster in one fully convolutional pass, pooled over three bands."""

import numpy as np
import pytest
from PIL import Image

from featurize.images import preprocess
from featurize.models import SPECS

BANDS = "efficientnet-lite0-bands"


def test_whole_poster_preprocessing_keeps_top_and_bottom():
    pre = SPECS[BANDS].preprocessing
    img = np.zeros((278, 185, 3), np.uint8)
    img[:40] = (255, 0, 0)        # a title band at the top
    img[-40:] = (0, 0, 255)       # credits at the bottom
    out = preprocess(Image.fromarray(img), pre)
    assert out.shape == (288, 192, 3) == (*pre.shape, 3)
    assert (out[0] == (255, 0, 0)).all() and (out[-1] == (0, 0, 255)).all()
    square = preprocess(Image.fromarray(img), SPECS["efficientnet-lite0"].preprocessing)
    assert not (square[0] == (255, 0, 0)).all()   # the centre crop loses the top band: the test can fail


def test_exported_bands_are_the_thirds_of_the_feature_map(tmp_path):
    pytest.importorskip("torch")
    from featurize.onnx_export import exported_model
    from featurize.posters import PosterEmbedder
    path = exported_model(BANDS, random_weights=True, directory=str(tmp_path))
    pre = SPECS[BANDS].preprocessing
    rng = np.random.default_rng(0)
    batch = rng.integers(0, 256, size=(3, *pre.shape, 3), dtype=np.uint8)
    got = PosterEmbedder(path, device="cpu", preprocessing=pre).embed(batch)
    assert got.shape == (3, 3 * 1280)
    # recompute from the same ONNX graph's spatial map: bands are means over rows 0-2, 3-5, 6-8 of a 9 x 6 map
    import onnx
    from onnx import helper
    model = onnx.load(path)
    fmap_name = [n.input[0] for n in model.graph.node if n.op_type == "Slice"][-1]   # the band slices come last
    model.graph.output.append(helper.make_tensor_value_info(fmap_name, onnx.TensorProto.FLOAT, None))
    import onnxruntime as ort
    sess = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    x = (batch.astype(np.float32) - 127.0) / 128.0
    fmap = sess.run([fmap_name], {sess.get_inputs()[0].name: np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]
    assert fmap.shape[2:] == (9, 6)
    want = np.concatenate([fmap[:, :, a:b].mean(axis=(2, 3)) for a, b in ((0, 3), (3, 6), (6, 9))], axis=1)
    assert np.allclose(got, want, atol=1e-4)


def test_featurize_and_predict_time_features_agree(onnx_cache, tiny_catalog, tmp_path):
    from featurize import FeaturizeOptions, featurize
    from featurize.online import OnlineFeaturizer, save_encoders
    from store import FeatureStore
    name = f"poster/{BANDS}"
    store_path = str(tmp_path / "s.h5")
    featurize(str(tiny_catalog), store_path, FeaturizeOptions(poster_model=BANDS, text=False))
    with FeatureStore.open(store_path) as fs:
        assert fs.feature_info(name)["shape"] == (24, 3840)
        prov = fs.provenance(name)
        assert "whole poster resized to 192 x 288" in prov["preprocessing"]
        assert prov["preprocessing_params"]["height"] == 288
        ids = fs.ids()[:4]
        stored = fs.lookup(ids, feature=name)
        posters = dict(zip(fs.movies()["id"], fs.movies()["poster"]))
        save_encoders(fs, [name], str(tmp_path / "enc"))
    online = OnlineFeaturizer.load(str(tmp_path / "enc"), [name])
    out, failures = online.transform([posters[m] for m in ids], [""] * 4)
    assert not failures
    assert np.allclose(out[name], stored, atol=1e-5)
