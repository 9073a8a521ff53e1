"""The seeds' ResNet-50 export path, tested with random weights (no ImageNet file needed)."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("torchvision", reason="resnet50 needs torchvision (scripts/setup.sh installs it)")

from featurize.errors import WeightsUnavailableError  # noqa: E402
from featurize.models import build_resnet50  # noqa: E402
from featurize.onnx_export import export, exported_model  # noqa: E402
from featurize.posters import PosterEmbedder  # noqa: E402


def test_resnet50_export_matches_torch(tmp_path):
    module, desc = build_resnet50(random_weights=True)
    assert desc["weights"].startswith("random")
    path = export(module, 224, str(tmp_path / "resnet50.onnx"))
    x = np.random.default_rng(0).normal(size=(2, 3, 224, 224)).astype(np.float32)
    out = PosterEmbedder(path).run_all(x)
    with torch.no_grad():
        emb, logits = module(torch.from_numpy(x))
    assert out["embedding"].shape == (2, 2048) and out["logits"].shape == (2, 1000)
    np.testing.assert_allclose(out["embedding"], emb.numpy(), atol=1e-4, rtol=1e-4)
    np.testing.assert_allclose(out["logits"], logits.numpy(), atol=1e-3, rtol=1e-3)


def test_named_export_of_resnet50_is_cached(tmp_path):
    path = exported_model("resnet50", random_weights=True, directory=str(tmp_path))
    assert exported_model("resnet50", random_weights=True, directory=str(tmp_path)) == path
    assert PosterEmbedder(path).dim == 2048


def test_resnet50_without_weights_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    with pytest.raises(WeightsUnavailableError, match="ResNet-50 ImageNet weights are not in"):
        build_resnet50()
