"""classifiers: per-decade one-vs-rest heads (svm, nb, mlp) trained from the feature store."""

from .model.decades import DEFAULT_CONFIGS, FitOptions, fit
from .errors import ClassifierError, ModelIntegrityError, NotEnoughDataError, ProvenanceMismatchError
from .model.heads import MLPHead, NBHead, SVMHead, make_head
from .predict.predictor import Prediction, Predictor

__all__ = ["fit", "FitOptions", "DEFAULT_CONFIGS", "make_head", "SVMHead", "NBHead", "MLPHead", "Predictor",
           "Prediction", "ClassifierError", "ModelIntegrityError", "NotEnoughDataError", "ProvenanceMismatchError"]
