"""Named errors of the featurize stage."""

from store.errors import OnesheetError


class FeaturizeError(OnesheetError):
    """Base class for featurize failures a user can act on."""


class MissingExtraError(FeaturizeError):
    """An optional dependency is not installed; the message says which pip install fixes it."""


class WeightsUnavailableError(FeaturizeError):
    """Pretrained weights cannot be found locally and cannot be downloaded."""


class ModelFormatError(FeaturizeError):
    """An ONNX model the user brought cannot be used as an image encoder."""


class WordVectorsError(FeaturizeError):
    """A word-vector file cannot be read."""


class PosterError(Exception):
    """One poster cannot be used; ``kind`` names why (the row is skipped, the batch goes on)."""

    def __init__(self, kind, detail):
        super().__init__(f"{kind}: {detail}")
        self.kind = kind
        self.detail = detail


class DeviceError(FeaturizeError):
    """The device asked for (e.g. --device cuda) cannot be used; the message says what to install or pass."""


class PrecisionError(FeaturizeError):
    """A reduced-precision (fp16) graph moves embeddings too far from fp32; use fp32."""
