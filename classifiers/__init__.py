"""classifiers: per-decade one-vs-rest heads (svm, nb, mlp) trained from the feature store."""

from .model.decades import DEFAULT_CONFIGS, FitOptions, fit
from .errors import (ClassifierError, ModelDirError, ModelFormatError, ModelIntegrityError, NotEnoughDataError,
                     ProvenanceMismatchError, UntrustedModelError)
from .model.heads import MLPHead, NBHead, SVMHead, make_head
from .model.results import FitResult
from .model.spec import FeatureSpec
from .modeldir import ModelDir
from .predict.predictor import Prediction, Predictor

__all__ = ["fit", "FitOptions", "FitResult", "DEFAULT_CONFIGS", "FeatureSpec", "make_head", "SVMHead", "NBHead",
           "MLPHead", "ModelDir", "Predictor", "Prediction", "ClassifierError", "ModelDirError", "ModelFormatError",
           "ModelIntegrityError", "NotEnoughDataError", "ProvenanceMismatchError", "UntrustedModelError"]
