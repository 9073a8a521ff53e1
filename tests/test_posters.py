"""PosterEmbedder: providers, uint8 input in the graph, IO binding, two batches in flight, the fp16 rule."""

import numpy as np
import onnx
import pytest
from PIL import Image

from featurize import FeaturizeOptions, featurize
from featurize import posters as posters_module
from featurize.errors import DeviceError, ModelFormatError, PrecisionError
from featurize.feeding import BoundHostFeeder, HostFeeder
from featurize.graph import with_uint8_input
from featurize.images import load_poster, normalise
from featurize.models import SPECS
from featurize.onnx_export import exported_model
from featurize.posters import CPU, CUDA, PosterEmbedder, choose_providers, cosines
from store import FeatureStore
from tests.conftest import REAL_DATA, make_poster

PRE = SPECS["efficientnet-lite0"].preprocessing


@pytest.fixture(scope="module")
def model_path(onnx_cache):
    return exported_model("efficientnet-lite0")


@pytest.fixture(scope="module")
def pixels(tmp_path_factory):
    """Ten real posters when the data set is here, else ten synthetic ones: (10, 224, 224, 3) uint8."""
    real = sorted((REAL_DATA / "posters").glob("*.jpg"))[:10] if (REAL_DATA / "posters").is_dir() else []
    if not real:
        folder = tmp_path_factory.mktemp("posters")
        real = [make_poster(folder / f"{i}.jpg", i, size=(185, 278)) for i in range(10)]
    return np.stack([load_poster(p, PRE) for p in real])


@pytest.mark.parametrize("device,available,expected", [
    ("cpu", [CUDA, CPU], [CPU]),
    ("auto", [CUDA, CPU], [CUDA, CPU]),
    ("auto", [CPU], [CPU]),
    ("cuda", [CUDA, CPU], [CUDA, CPU]),
])
def test_provider_choice(device, available, expected):
    assert choose_providers(device, available) == expected


def test_cuda_without_a_cuda_provider_fails_loudly(model_path):
    with pytest.raises(DeviceError, match="onesheet\\[gpu\\]"):
        choose_providers("cuda", [CPU])
    with pytest.raises(DeviceError, match="auto, cpu or cuda"):
        choose_providers("tpu", [CPU])
    if CUDA not in posters_module._ort().get_available_providers():
        with pytest.raises(DeviceError):
            PosterEmbedder(model_path, device="cuda", preprocessing=PRE)


def test_uint8_graph_gives_the_host_normalised_numbers(model_path, pixels):
    in_graph = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)
    on_host = PosterEmbedder(model_path, device="cpu")
    assert (in_graph.input_layout, on_host.input_layout) == ("uint8-nhwc", "float-nchw")
    assert in_graph.sha256 == on_host.sha256          # the file, and so the feature's identity, is unchanged
    np.testing.assert_allclose(in_graph.embed(pixels), on_host.embed(normalise(pixels, PRE)), rtol=0, atol=1e-6)
    with pytest.raises(ModelFormatError, match="uint8"):
        in_graph.embed(normalise(pixels, PRE))


def test_a_uint8_model_on_disk_is_used_as_it_is(model_path, pixels, tmp_path):
    path = tmp_path / "uint8.onnx"
    onnx.save_model(with_uint8_input(onnx.load(model_path), PRE.mean, PRE.std), str(path))
    brought = PosterEmbedder(str(path), device="cpu")
    assert brought.input_layout == "uint8-nhwc" and brought.input_size == 224 and brought.dim == 1280
    in_graph = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)   # auto would take CUDA (TF32) where present
    np.testing.assert_allclose(brought.embed(pixels), in_graph.embed(pixels), rtol=0, atol=1e-6)


def test_io_binding_on_the_cpu_matches_a_plain_run(model_path, pixels):
    emb = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)
    assert isinstance(emb.feeder, BoundHostFeeder)
    plain = HostFeeder(emb.session, emb.input_name, emb.output_name)
    np.testing.assert_array_equal(emb.feeder.run(emb.feeder.stage(pixels)), plain.run(plain.stage(pixels)))


def test_embed_stream_keeps_order_and_handles_empty_batches(model_path, pixels):
    emb = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)
    batches = [("a", pixels[:3]), ("empty", pixels[:0]), ("b", pixels[3:4]), ("c", pixels[4:]), ("d", pixels[::-1])]
    out = list(emb.embed_stream(iter(batches)))
    assert [tag for tag, _ in out] == ["a", "empty", "b", "c", "d"]
    for (_, batch), (_, got) in zip(batches, out):
        assert got.shape == (len(batch), 1280)
        if len(batch):
            np.testing.assert_allclose(got, emb.embed(batch), rtol=0, atol=1e-6)


def test_fp16_graph_is_within_the_rule_on_the_cpu_provider(model_path, pixels):
    fp16 = PosterEmbedder(model_path, device="cpu", preprocessing=PRE, precision="fp16")
    fp32 = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)
    sims = cosines(fp16.embed(pixels), fp32.embed(pixels))
    assert fp16.precision == "fp16" and sims.min() >= posters_module.FP16_MIN_COSINE
    assert sims.min() < 1.0 - 1e-7   # it really computed in half precision


def test_fp16_feature_records_its_precision_and_is_refused_below_the_rule(onnx_cache, tiny_catalog, tmp_path,
                                                                           monkeypatch):
    store_path = tmp_path / "s.h5"
    opts = FeaturizeOptions(text=False, precision="fp16", device="cpu")
    (run,) = featurize(tiny_catalog, store_path, opts).features
    assert run.name == "poster/efficientnet-lite0-fp16" and run.written == 24
    with FeatureStore.open(store_path) as s:
        prov = s.provenance(run.name)
    assert prov["precision"] == "fp16" and prov["precision_min_cosine"] >= 0.999 and prov["input"] == "uint8-nhwc"
    monkeypatch.setattr(posters_module, "FP16_MIN_COSINE", 1.01)
    with pytest.raises(PrecisionError, match="--precision fp32"):
        featurize(tiny_catalog, tmp_path / "t.h5", opts)
    with FeatureStore.open(tmp_path / "t.h5") as s:
        assert run.name not in s.features()


def test_torch_jpeg_decoder_matches_the_cpu_path_and_names_bad_posters(model_path, tmp_path):
    pytest.importorskip("torchvision")
    from featurize.gpu_decode import TorchJpegDecoder
    from tests.images_fixtures import broken_folder
    expected = broken_folder(tmp_path)
    real = sorted((REAL_DATA / "posters").glob("*.jpg"))[:6] if (REAL_DATA / "posters").is_dir() else []
    good = [str(p) for p in real] or [str(make_poster(tmp_path / f"{i}.jpg", i, size=(185, 278))) for i in range(6)]
    items = [(f"g{i}", p) for i, p in enumerate(good)]
    items[2:2] = [(name, str(tmp_path / name)) for name in sorted(expected)]
    items.append(("png", str(tmp_path / "rgba.png")))
    Image.new("RGBA", (90, 120), (10, 200, 10, 255)).save(tmp_path / "rgba.png")   # not a JPEG: CPU path
    decoder = TorchJpegDecoder(PRE, device="cpu")
    try:
        ids, batch, failures = decoder.decode(items)
    finally:
        decoder.close()
    assert ids == [f"g{i}" for i in range(len(good))] + ["png"]
    assert {k for k, _ in failures} == set(expected)
    for key, err in failures:
        assert err.kind in expected[key], (key, err)
    cpu = np.stack([load_poster(p, PRE) for p in good + [str(tmp_path / "rgba.png")]])
    assert np.abs(batch.numpy().astype(int) - cpu.astype(int)).mean() < 3
    emb = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)
    assert cosines(emb.embed(batch), emb.embed(cpu)).min() > 0.99


def test_embed_stream_warms_up_on_the_run_thread_before_the_first_batch_is_staged(model_path, pixels):
    emb = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)
    calls, stage, run = [], emb.feeder.stage, emb.feeder.run
    emb.feeder.stage = lambda batch: calls.append(("stage", len(batch))) or stage(batch)
    emb.feeder.run = lambda staged: calls.append(("run", len(staged))) or run(staged)
    out = list(emb.embed_stream(iter([("a", pixels[:4]), ("b", pixels[4:])]), warm_up_rows=7))
    assert calls[:2] == [("stage", 7), ("run", 7)]          # the warm-up, before any real batch
    assert [tag for tag, _ in out] == ["a", "b"] and [len(e) for _, e in out] == [4, 6]
    np.testing.assert_allclose(out[0][1], emb.embed(pixels[:4]), rtol=0, atol=1e-6)


def test_cuda_feeder_pads_small_batches_to_one_shape(model_path, pixels):
    if CUDA not in posters_module._ort().get_available_providers():
        pytest.skip("needs onnxruntime-gpu and a CUDA device")
    emb = PosterEmbedder(model_path, device="cuda", preprocessing=PRE)
    if emb.device != "cuda" or emb.feeder.torch is None:
        pytest.skip("CUDA provider or torch for CUDA not usable here")
    emb.warm_up(8)
    shapes = []
    bind = type(emb.session.io_binding()).bind_input

    def spy(self, name, device, device_id, dtype, shape, ptr):
        shapes.append(tuple(shape))
        return bind(self, name, device, device_id, dtype, shape, ptr)

    type(emb.session.io_binding()).bind_input = spy
    try:
        small, full = emb.embed(pixels[:3]), emb.embed(pixels[:8] if len(pixels) >= 8 else pixels)
    finally:
        type(emb.session.io_binding()).bind_input = bind
    assert small.shape == (3, 1280) and {s[0] for s in shapes} == {8}
    assert cosines(small, full[:3]).min() > 0.99999



def test_cuda_embeddings_match_the_cpu_providers(model_path, pixels):
    """GPU and CPU rows share one feature: no TF32 (its rows were at cosine 0.99998 from the CPU's)."""
    if CUDA not in posters_module._ort().get_available_providers():
        pytest.skip("needs onnxruntime-gpu and a CUDA device")
    gpu = PosterEmbedder(model_path, device="cuda", preprocessing=PRE)
    if gpu.device != "cuda":
        pytest.skip("CUDA provider not usable here")
    cpu = PosterEmbedder(model_path, device="cpu", preprocessing=PRE)
    assert cosines(gpu.embed(pixels), cpu.embed(pixels)).min() >= 0.999999
