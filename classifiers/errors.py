"""Named errors of the classifiers stage."""

from store.errors import OnesheetError


class ClassifierError(OnesheetError):
    """Base class for fit / predict / evaluate failures a user can act on."""


class ModelIntegrityError(ClassifierError):
    """A model file does not match the sha256 its sidecar records (tampered or truncated)."""


class ProvenanceMismatchError(ClassifierError):
    """A model was trained on features other than the ones offered to it now."""


class NotEnoughDataError(ClassifierError):
    """Too few labelled movies to fit or evaluate what was asked."""


class PredictInputError(ClassifierError, ValueError):
    """Arguments to Predictor.predict that do not line up (counts) or are not what they should be."""
