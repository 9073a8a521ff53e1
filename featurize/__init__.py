"""featurize: posters -> ONNX CNN embeddings, overviews -> bag-of-words, tf-idf and mean word vectors.

Importing this package is cheap; torch is only imported for a first-time ONNX export.
"""

from .errors import FeaturizeError, MissingExtraError, ModelFormatError, PosterError, WordVectorsError
from .pipeline import FeaturizeOptions, FeaturizeSummary, featurize

__all__ = ["featurize", "FeaturizeOptions", "FeaturizeSummary", "FeaturizeError", "MissingExtraError",
           "ModelFormatError", "PosterError", "WordVectorsError"]
