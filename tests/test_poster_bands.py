"""Whole-poster models: efficientnet-lite0-full (one fully convolutional pass, mean-pooled) and
efficientnet-lite0-bands (the same pass pooled over three bands); fit's defaults prefer -full."""

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


def test_warm_up_uses_the_models_own_non_square_input(tmp_path):
    """The warm-up batch (run before the first real one on CUDA) must have the whole-poster
    model's 288 x 192 input shape, not a square of its height."""
    pytest.importorskip("torch")
    from featurize.onnx_export import exported_model
    from featurize.posters import PosterEmbedder
    path = exported_model(BANDS, random_weights=True, directory=str(tmp_path))
    embedder = PosterEmbedder(path, device="cpu", preprocessing=SPECS[BANDS].preprocessing)
    assert embedder.input_hw == SPECS[BANDS].preprocessing.shape
    embedder.warm_up(2)   # raised onnxruntime's invalid-dimensions error with a square batch


@pytest.mark.parametrize("model,dim", [(BANDS, 3840), ("efficientnet-lite0-full", 1280)])
def test_featurize_and_predict_time_features_agree(onnx_cache, tiny_catalog, tmp_path, model, dim):
    from featurize import FeaturizeOptions, featurize
    from tests.encoder_roundtrip import encoders_via_model_dir, online_from
    from store import FeatureStore
    name = f"poster/{model}"
    store_path = str(tmp_path / "s.h5")
    featurize(str(tiny_catalog), store_path, FeaturizeOptions(poster_model=model, text=False))
    with FeatureStore.open(store_path) as fs:
        assert fs.feature_info(name)["shape"] == (24, dim)
        prov = fs.provenance(name)
        assert "whole poster resized to 192 x 288" in prov["preprocessing"]
        assert prov["preprocessing_params"]["height"] == 288
        ids = fs.ids()[:4]
        stored = fs.lookup(ids, feature=name)
        posters = dict(zip(fs.movies()["id"], fs.movies()["poster"]))
        mdir = encoders_via_model_dir(fs, [name], tmp_path / "models")
    online = online_from(mdir, [name])
    out, failures = online.transform([posters[m] for m in ids], [""] * 4)
    assert not failures
    assert np.allclose(out[name], stored, atol=1e-5)


def test_default_configs_take_the_whole_poster_when_the_store_has_it():
    from classifiers.model.decades import DEFAULT_CONFIGS, FULL_POSTER, POSTER, with_best_poster
    assert with_best_poster(DEFAULT_CONFIGS, [POSTER, "overview/tfidf"]) == list(DEFAULT_CONFIGS)
    swapped = with_best_poster(DEFAULT_CONFIGS, [POSTER, FULL_POSTER])
    assert [s for _, s in swapped] == [s.replace(POSTER, FULL_POSTER) for _, s in DEFAULT_CONFIGS]
    assert any(FULL_POSTER in s for _, s in swapped) and not any(f"{POSTER}+" in s or s == POSTER for _, s in swapped)
