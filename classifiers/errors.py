"""Named errors of the classifiers stage."""

from store.errors import OnesheetError


class ClassifierError(OnesheetError):
    """Base class for fit / predict / evaluate failures a user can act on."""


class ModelDirError(ClassifierError):
    """A model directory cannot be used: missing, damaged, from another format, or being written."""


class ModelIntegrityError(ModelDirError):
    """A file of a model directory does not match its manifest (tampered, truncated, swapped)."""


class UntrustedModelError(ModelIntegrityError):
    """A model file names a type outside onesheet's trusted list; it is refused, never loaded."""


class ModelFormatError(ModelDirError):
    """The directory was written in another model-directory format (e.g. v1 joblib pickles)."""


class ModelDirLockedError(ModelDirError):
    """Another fit is writing into the same model directory."""


class ProvenanceMismatchError(ModelDirError):
    """A model was trained on features other than the ones offered to it now."""


class NotEnoughDataError(ClassifierError):
    """Too few labelled movies to fit or evaluate what was asked."""


class PredictInputError(ClassifierError, ValueError):
    """Arguments to Predictor.predict that do not line up (counts) or are not what they should be."""
