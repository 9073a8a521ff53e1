"""featurize: posters -> ONNX CNN embeddings, overviews -> bag-of-words, tf-idf and mean word vectors.

Importing this package is cheap: the pipeline (and with it scikit-learn and the store) is
imported on first use of ``featurize``, ``FeaturizeOptions`` or ``FeaturizeSummary``, so a
poster-decoding worker that only needs ``featurize.images`` starts in a fraction of a second.
torch is only imported for a first-time ONNX export.
"""

from .errors import FeaturizeError, MissingExtraError, ModelFormatError, PosterError, WordVectorsError

__all__ = ["featurize", "FeaturizeOptions", "FeaturizeSummary", "FeaturizeError", "MissingExtraError",
           "ModelFormatError", "PosterError", "WordVectorsError"]

_PIPELINE = ("featurize", "FeaturizeOptions", "FeaturizeSummary")


def __getattr__(name):
    if name in _PIPELINE:
        from . import pipeline
        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
